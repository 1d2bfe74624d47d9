"""The compiler: record a program of primitive op calls once, then replay or export it."""

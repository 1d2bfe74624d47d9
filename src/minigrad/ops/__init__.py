"""The op tables: one row per primitive op (forward on arrays, one VJP per input), by family."""

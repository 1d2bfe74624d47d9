"""``DataParallel``: PyTorch's single-process multi-GPU wrapper; on CPU it runs the module itself."""

from __future__ import annotations

from ..module import Module


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``, as ``torch.nn.DataParallel``.

    PyTorch splits each batch across GPUs inside one process; without GPUs it simply calls
    ``module``, and so does minigrad (for several processes use ``DistributedDataParallel``).
    ``.module`` is the wrapped model and the state dict's keys start with ``module.``.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected an nn.Module, got {type(module).__name__}")
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)

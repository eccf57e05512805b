"""Importable classes for the attack suite (the torch flavor imports a module class by path)."""

import torch


class SmallNet(torch.nn.Module):
    def __init__(self, width: int = 3):
        super().__init__()
        self.init_kwargs = {"width": width}
        self.lin = torch.nn.Linear(4, width)

    def forward(self, x):
        return self.lin(x)


class NeedsArguments(torch.nn.Module):
    """Its constructor needs ``width`` and nothing records it: refused at registration."""

    def __init__(self, width):
        super().__init__()
        self.lin = torch.nn.Linear(4, width)

    def forward(self, x):
        return self.lin(x)


class NotAModule:
    """Named as a torch module class in crafted metadata: never constructed."""

    def __init__(self, path):
        open(path, "w").write("constructed")

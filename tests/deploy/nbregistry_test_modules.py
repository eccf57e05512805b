"""An importable torch module for the torch flavor's tests (a class the flavor can import by path)."""

import torch


class TinyNet(torch.nn.Module):
    def __init__(self, hidden: int = 4):
        super().__init__()
        self.hidden = hidden
        self.init_kwargs = {"hidden": hidden}  # recorded at registration, used to rebuild it
        self.body = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))

    def forward(self, x):
        return self.body(x)

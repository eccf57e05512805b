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


class SlowModel:
    """Answers after ``delay`` seconds: an in-flight request for the graceful-shutdown test."""

    def __init__(self, delay: float):
        self.delay = delay

    def predict(self, frame):
        import time

        import numpy as np

        if float(frame.iloc[0, 0]) > 0:  # the stored example (zeros) answers at once
            time.sleep(self.delay)
        return np.zeros(len(frame), dtype="int64")

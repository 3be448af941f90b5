"""A built spec trains: a few optimiser steps on scikit-learn's digits reduce
the loss, with the trailing softmax left to predict_proba."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")

import archdsl  # noqa: E402

DIGITS = """
network Digits {
  input 1x8x8
  conv 16 k=3 p=same; bn; relu
  maxpool k=2                      # 16x4x4
  residual { conv 16 k=3 p=1 bias=false; bn; relu; conv 16 k=3 p=1 bias=false; bn }
  relu
  concat { branch { conv 8 k=1 } branch { minpool k=3 s=1 p=same; conv 8 k=1 } }
  gap
  flatten
  dropout 0.1
  fc 10
  softmax
}
"""


def test_digits_loss_goes_down():
    torch.manual_seed(0)
    digits = datasets.load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target)
    model = archdsl.build(DIGITS)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()

    def full_loss():
        model.eval()
        with torch.no_grad():
            return loss_fn(model(x), y).item()

    before = full_loss()
    model.train()
    for _ in range(40):
        idx = torch.randint(0, len(x), (128,))
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        model.train()
    after = full_loss()
    assert after < 0.5 * before
    model.eval()
    with torch.no_grad():
        accuracy = (model.predict_proba(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.7

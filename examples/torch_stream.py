"""A PyTorch RNN trained on lmrnn.Stream, the way neurogym's Dataset is used in PyTorch loops.

    make lib && PYTHONPATH=python /usr/bin/python3 examples/torch_stream.py [--steps 400] [--battery yang20]

Needs Debian's python3-torch (not a dependency of lmrnn). The stream is seeded, so the run is
reproducible; prints the mean loss of every 50 steps, which falls as the network learns the tasks."""
import argparse
import time

import numpy as np
import torch

import lmrnn


class RNN(torch.nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.rnn = torch.nn.RNN(n_in, n_hidden, nonlinearity="relu")   # time-major, like the stream
        self.out = torch.nn.Linear(n_hidden, n_out)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--battery", default="yang20")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    stream = lmrnn.Stream(a.battery, batch=a.batch, window=a.window, seed=a.seed)
    net = RNN(stream.n_inputs, a.hidden, lmrnn.tasks.ACTIONS)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses, t0 = [], time.time()
    print("battery %s: %d inputs, batch %d, window %d, hidden %d" % (a.battery, stream.n_inputs, a.batch, a.window,
                                                                     a.hidden))
    for step, (inputs, labels) in zip(range(1, a.steps + 1), stream):
        x = torch.from_numpy(inputs)
        y = torch.from_numpy(labels).long()
        logits = net(x)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0:
            print("step %4d  loss %.4f  (%.1f s)" % (step, np.mean(losses[-50:]), time.time() - t0))
    first, last = np.mean(losses[:50]), np.mean(losses[-50:])
    print("mean loss of the first 50 steps %.4f, of the last 50 %.4f" % (first, last))


if __name__ == "__main__":
    main()

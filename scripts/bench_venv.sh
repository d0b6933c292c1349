# Sourced by the PyTorch comparison benchmarks: makes target/bench-venv with PyTorch (pip, from PyPI, once) and
# sets `venv` to it. The tests never need it.
venv=target/bench-venv
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "installing PyTorch into $venv (once)" >&2
    "$venv/bin/pip" install --quiet torch numpy
fi

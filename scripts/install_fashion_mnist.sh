#!/usr/bin/env bash
# Installs Fashion-MNIST (the Debian package dataset-fashion-mnist, into /usr/share/datasets/fashion-mnist/)
# when it is missing; uses sudo when not root.
set -euo pipefail

if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
fi

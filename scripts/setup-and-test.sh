#!/usr/bin/env bash
# Set up a machine for xlcheck's tests and run them. Works as root (containers, CI: no sudo there)
# and as a normal user (apt through sudo). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# apt packages the tests need: one per line, add new ones here
APT_PACKAGES=(
  libreoffice-calc   # headless recalculation and rendering of workbooks
  fonts-noto-cjk     # Chinese glyphs in rendered pages
  poppler-utils      # pdftoppm: rendered PDF pages to PNG
  chromium           # the service's upload page in a real headless browser (Selenium)
  chromium-driver
  postgresql         # the service's inbox on PostgreSQL (a throwaway cluster per test run)
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# xlwings Lite under Pyodide (npm package pyodide) runs in Node: Debian's nodejs and npm, unless a
# node with its own npm is already there (NodeSource's nodejs bundles npm and conflicts with Debian's)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "需要安装：${missing[*]}（本脚本使用 apt-get；其他系统请用自己的包管理器安装）" >&2
    exit 1
  fi
  echo "安装 ${missing[*]} …" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m pip install -q -c tests/constraints.txt -e ".[test]"
python3 -m pytest -n 2 -q "$@"

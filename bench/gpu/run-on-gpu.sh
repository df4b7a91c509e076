#!/usr/bin/env bash
# GPU bench for a machine with a GPU but no Node and no internet (see bench/gpu/README.md).
#
#   bench/gpu/run-on-gpu.sh pack [--fresh]  here (Node, node_modules, apt): builds bench/gpu/carry/ (~36 MiB)
#   bench/gpu/run-on-gpu.sh run [args...]   on the GPU machine: unpacks the carry, finds the Vulkan loader
#                                           and the NVIDIA ICD, runs the bench; results in $OUT
#   bench/gpu/run-on-gpu.sh check           here: `run --quick` on SwiftShader with the carried node,
#                                           onnxruntime and Vulkan loader (verifies the carry, slowly)
#
# Extra args after `run` go to the bench (bench/gpu/bench-gpu.ts), e.g. --sizes 128,256 --batches 1,8, or
# `--jobs fused` (512→2048 with the JS step, the fused step and the fused step with device noise).
# Environment: OUT (results, default bench/gpu/out), BENCH_TIMEOUT_S (whole bench, default 480),
# VK_ICD_FILENAMES (use this Vulkan driver instead of looking for NVIDIA's).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CARRY="$HERE/carry"

say() { printf '[run-on-gpu] %s\n' "$*" >&2; }

# --- decompression without assuming xz is installed (python3's lzma as the fallback) ---------------
unxz_to() { # <file.xz> <dest>
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"; fi
}
untar_xz() { # <file.tar.xz> <dir>
  if command -v xz >/dev/null 2>&1; then tar -C "$2" -xJf "$1"
  else python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1],"r:xz").extractall(sys.argv[2])' "$1" "$2"; fi
}

pack() {
  cd "$REPO"
  command -v node >/dev/null || { say "pack needs node"; exit 1; }
  # node.xz and ort.tar.xz take minutes (xz -9): kept from an earlier pack of the same versions
  # unless `pack --fresh`.
  local nodev ortv; nodev=$(node --version); ortv=$(node -p 'require("onnxruntime-node/package.json").version')
  if [ "${1:-}" = --fresh ] || [ "$(cat "$CARRY/versions" 2>/dev/null)" != "node $nodev ort $ortv" ] || [ ! -s "$CARRY/node.xz" ] || [ ! -s "$CARRY/ort.tar.xz" ]; then
    rm -rf "$CARRY"; mkdir -p "$CARRY"
    say "node $nodev → carry/node.xz (xz -9)"
    xz -9 -T0 -c "$(command -v node)" >"$CARRY/node.xz.part" && mv "$CARRY/node.xz.part" "$CARRY/node.xz"
    say "onnxruntime-node $ortv (linux-x64 binaries only) + onnxruntime-common → carry/ort.tar.xz"
    local napi; napi=$(basename "$(ls -d node_modules/onnxruntime-node/bin/napi-v*)")
    tar -C node_modules -cf - onnxruntime-node/package.json onnxruntime-node/dist \
        "onnxruntime-node/bin/$napi/linux/x64" onnxruntime-common | xz -9 -T0 >"$CARRY/ort.tar.xz.part" && mv "$CARRY/ort.tar.xz.part" "$CARRY/ort.tar.xz"
    echo "node $nodev ort $ortv" >"$CARRY/versions"
  else
    say "reusing carry/node.xz ($nodev) and carry/ort.tar.xz ($ortv); 'pack --fresh' rebuilds them"
  fi
  rm -rf "$CARRY/app" "$CARRY/vulkan" "$CARRY/icd"; mkdir -p "$CARRY/app/models" "$CARRY/vulkan" "$CARRY/icd"

  say "Vulkan loader: Debian's libvulkan1 (apt-get download, no install, no root needed)"
  local tmp; tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download libvulkan1 >/dev/null 2>&1); then
    dpkg-deb -x "$tmp"/libvulkan1_*.deb "$tmp/x"
    cp -a "$tmp"/x/usr/lib/*/libvulkan.so.1* "$CARRY/vulkan/"
    cp "$tmp"/libvulkan1_*.deb "$CARRY/vulkan/"
    say "  $(basename "$tmp"/libvulkan1_*.deb)"
  elif [ -e /usr/lib/chromium/libvulkan.so.1 ]; then
    say "  apt-get download failed (run apt-get update?): carrying Chromium's bundled libvulkan.so.1 instead"
    cp /usr/lib/chromium/libvulkan.so.1 "$CARRY/vulkan/"
  else
    say "  no Vulkan loader to carry: the GPU machine must have libvulkan.so.1"
  fi
  rm -rf "$tmp"

  # NVIDIA's Vulkan ICD manifest, for machines whose driver is mounted without it (containers often
  # mount libGLX_nvidia.so.0 but not /usr/share/vulkan/icd.d/nvidia_icd.json). run fills in the path.
  cat >"$CARRY/icd/nvidia_icd.json.in" <<'JSON'
{
    "file_format_version": "1.0.1",
    "ICD": {
        "library_path": "@LIB@",
        "api_version": "1.3.0"
    }
}
JSON

  say "bench bundle (esbuild; onnxruntime-node external) → carry/app/"
  node --input-type=module -e '
    import { build } from "esbuild";
    await build({
      entryPoints: { "bench-gpu": "bench/gpu/bench-gpu.ts", child: "src/engine/providers/child.ts", "step-child": "bench/gpu/step-child.ts" },
      outdir: process.argv[1], bundle: true, splitting: true, format: "esm", platform: "node", target: "node20",
      external: ["onnxruntime-node", "sharp"], logLevel: "warning",
      banner: { js: "import { createRequire as __cr } from \"node:module\"; const require = __cr(import.meta.url);" },
    });' "$CARRY/app"
  echo '{ "type": "module" }' >"$CARRY/app/package.json"

  say "models → carry/app/models (test fixtures + packages under models/ that have a card.json)"
  cp -r test/fixtures/models/tiny-x4 test/fixtures/models/tiny-face-x8 "$CARRY/app/models/"
  # PACK_MODELS=0: leave the real packages out (they travel as tracked files anyway: pass --natural/--face
  # with absolute paths into the repo on the GPU machine), keeping the carry under the 64 MiB limit.
  [ "${PACK_MODELS:-1}" = 0 ] || for d in models/*/; do [ -f "$d/card.json" ] && cp -r "$d" "$CARRY/app/models/"; done
  cp "$HERE/run-on-gpu.sh" "$CARRY/"

  du -sch "$CARRY"/* >&2
  local kb; kb=$(du -sk "$CARRY" | cut -f1)
  [ "$kb" -lt 62000 ] || say "WARNING: carry is $((kb / 1024)) MiB (> 60 MiB): drop large model packages"
}

find_nvidia_icd() {
  local f
  for f in /etc/vulkan/icd.d/nvidia_icd*.json /usr/share/vulkan/icd.d/nvidia_icd*.json /usr/local/share/vulkan/icd.d/nvidia_icd*.json \
           /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

ldconfig_lib() { # <soname>: the path dlopen would find through the linker cache, or nothing
  ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; exit }'
}

find_lib() { # <soname>: a path anywhere usual (for a manifest's absolute library_path), or nothing
  local p
  p=$(ldconfig_lib "$1")
  [ -n "$p" ] && { echo "$p"; return 0; }
  find /usr/lib /usr/lib64 /usr/lib/x86_64-linux-gnu /usr/local/lib /usr/local/nvidia 2>/dev/null -maxdepth 3 -name "$1*" -print -quit
}

run() {
  [ -f "$CARRY/node.xz" ] || { say "no carry: run '$0 pack' on a machine with Node first"; exit 1; }
  OUT=${OUT:-$HERE/out}; mkdir -p "$OUT"
  local W; W=$(mktemp -d)
  say "unpacking into $W"
  unxz_to "$CARRY/node.xz" "$W/node"; chmod +x "$W/node"
  cp -r "$CARRY/app" "$W/app"; mkdir -p "$W/app/node_modules"
  untar_xz "$CARRY/ort.tar.xz" "$W/app/node_modules"
  "$W/node" --version >/dev/null || { say "the carried node does not run here (glibc too old?)"; exit 1; }

  # Vulkan loader: the system's, else the carried one.
  if [ -n "$(ldconfig_lib libvulkan.so.1)" ]; then say "Vulkan loader: system $(ldconfig_lib libvulkan.so.1)"
  else export LD_LIBRARY_PATH="$CARRY/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; say "Vulkan loader: carried ($CARRY/vulkan)"; fi

  # Vulkan driver: VK_ICD_FILENAMES if set; else NVIDIA's manifest; else ours pointing at libGLX_nvidia.
  if [ -n "${VK_ICD_FILENAMES:-}" ]; then say "ICD: VK_ICD_FILENAMES=$VK_ICD_FILENAMES (given)"
  elif icd=$(find_nvidia_icd); then export VK_ICD_FILENAMES="$icd"; say "ICD: $icd"
  elif lib=$(find_lib libGLX_nvidia.so.0) && [ -n "$lib" ]; then
    sed "s#@LIB@#$lib#" "$CARRY/icd/nvidia_icd.json.in" >"$W/nvidia_icd.json"
    export VK_ICD_FILENAMES="$W/nvidia_icd.json"; say "ICD: carried manifest → $lib"
  else
    say "WARNING: no NVIDIA Vulkan driver visible (no nvidia_icd.json, no libGLX_nvidia.so.0)."
    say "         In a container, NVIDIA_DRIVER_CAPABILITIES must include 'graphics' (or 'all')."
    say "         webgpu will report 'No supported adapters'; the CPU rows still run."
  fi
  export XDG_RUNTIME_DIR; XDG_RUNTIME_DIR=$(mktemp -d); chmod 700 "$XDG_RUNTIME_DIR"

  {
    echo "date: $(date -u +%FT%TZ)"; uname -a; echo "node: $("$W/node" --version)"
    echo "cores: $(nproc)"; grep -m1 'model name' /proc/cpuinfo || true
    echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"; echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
    [ -n "${VK_ICD_FILENAMES:-}" ] && [ -f "${VK_ICD_FILENAMES%%:*}" ] && cat "${VK_ICD_FILENAMES%%:*}"
    echo "--- nvidia-smi"; nvidia-smi 2>&1 || echo "(no nvidia-smi)"
    echo "--- NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-}"
    echo "--- nvidia libraries"; ldconfig -p 2>/dev/null | grep -E 'nvidia|libcuda|libvulkan' || true
  } >"$OUT/env.txt" 2>&1

  say "bench → $OUT (timeout ${BENCH_TIMEOUT_S:-480} s)"
  local rc=0
  (cd "$W/app" && timeout "${BENCH_TIMEOUT_S:-480}" "$W/node" bench-gpu.js --out "$OUT" "$@") 2>&1 | tee "$OUT/bench.log" || rc=$?
  rm -rf "$W"
  return "$rc"
}

check() {
  [ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || { say "check needs chromium's SwiftShader"; exit 1; }
  VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json OUT=${OUT:-$(mktemp -d)} run --quick --threads 2 "$@"
}

cmd=${1:-run}; shift || true
case "$cmd" in
  pack) pack "$@" ;;
  run) run "$@" ;;
  check) check "$@" ;;
  *) say "usage: $0 pack | run [bench args] | check"; exit 2 ;;
esac

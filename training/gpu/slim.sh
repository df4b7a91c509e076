#!/usr/bin/env bash
# The device tool copies the whole working tree plus the carried paths, 64 MiB in all. The tree alone is ~56 MB
# (model packages, bench pictures), the training packs ~58 MB, so the GPU training call runs from a slim tree:
#
#   bash training/gpu/slim.sh check     # sizes: tree, training/, training/runs/data; says whether the call fits
#   bash training/gpu/slim.sh slim      # removes every tracked file outside training/ from the working tree
#   ... device run (training/gpu/README.md) ...
#   bash training/gpu/slim.sh restore   # git checkout: the tree as committed again
#
# slim refuses when the tree has uncommitted changes (restore takes files back from HEAD, so nothing may be lost).
set -eu
cd "$(dirname "$0")/../.."
LIMIT=$((64 * 1024 * 1024))
D=training/runs/data
size() { du -cb "$@" 2>/dev/null | tail -1 | cut -f1; }
tracked() { git ls-files -z "$@" | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1; }
case "${1:-check}" in
  check)
    t=$(tracked); tr=$(tracked training); d=$(size $D)
    echo "tree $t B, training/ $tr B, $D $d B (limit $LIMIT B)"
    echo "full tree + data: $((t + d)) B $([ $((t + d)) -le $LIMIT ] && echo fits || echo 'does NOT fit')"
    echo "slim tree + data: $((tr + d)) B $([ $((tr + d)) -le $LIMIT ] && echo fits || echo 'does NOT fit')"
    ;;
  slim)
    if [ -n "$(git status --porcelain --untracked-files=no)" ]; then echo "slim: commit or stash your changes first (restore takes files from HEAD)" >&2; exit 1; fi
    git ls-files -z | grep -zv '^training/' | xargs -0 rm -f
    echo "slim: working tree now $(tracked training) B of tracked files (training/ only); 'slim.sh restore' brings the rest back"
    ;;
  restore)
    git checkout -- . && echo "restore: working tree as committed"
    ;;
  *) echo "usage: slim.sh check|slim|restore" >&2; exit 2 ;;
esac

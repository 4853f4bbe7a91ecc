# Shared by scripts/test and scripts/demo (sourced, not run).

# Links with mold when it is (or can be made) available: the test binaries are large and linking them with the
# default linker is a good part of an incremental build. Falls back to the default linker silently.
use_fast_linker() {
  if ! command -v mold >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get install -y -qq mold >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq mold >/dev/null 2>&1; }; } || true
  fi
  if command -v mold >/dev/null 2>&1; then
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
  fi
}

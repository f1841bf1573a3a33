/*
 * A stand-in for Windows' bcryptprimitives.dll, for running our Windows
 * binaries under Wine 8 in tests/wine.sh only. Never shipped.
 *
 * The Wine gap: Rust's standard library (1.78+) gets its random numbers
 * (HashMap seeds, and what getrandom asks for) from ProcessPrng in
 * bcryptprimitives.dll, which every Windows since 8 has. Wine 8.0 ships no
 * bcryptprimitives.dll at all (Wine 9 added one), so every Rust program
 * fails to load under it. This DLL exports ProcessPrng and answers it
 * with RtlGenRandom (advapi32's SystemFunction036), the generator Wine
 * does have; on real Windows both draw from the same system RNG.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a ULONG length: feed it in pieces. */
    while (length > 0) {
        ULONG piece = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, piece))
            return FALSE;
        data += piece;
        length -= piece;
    }
    return TRUE;
}

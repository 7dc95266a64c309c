namespace Orchestrator.CrashWriter;

/// <summary>
/// The bytes a data operation writes. Each byte depends on the seed, the operation number and its absolute
/// guest offset, so a cluster that lands at the wrong guest offset, or an older version of it, never matches.
/// </summary>
public static class CrashPattern
{
    /// <summary>The bytes op <paramref name="op"/> writes at guest offsets [<paramref name="offset"/>, +buffer.Length).</summary>
    public static void Fill(int seed, long op, long offset, Span<byte> buffer)
    {
        var i = 0;
        while (i < buffer.Length)
        {
            var absolute = offset + i;
            var word = Word(seed, op, absolute >> 3);
            for (var b = (int)(absolute & 7); b < 8 && i < buffer.Length; b++, i++)
            {
                buffer[i] = (byte)(word >> (b * 8));
            }
        }
    }

    /// <summary>The byte op <paramref name="op"/> writes at guest offset <paramref name="offset"/>.</summary>
    public static byte At(int seed, long op, long offset) => (byte)(Word(seed, op, offset >> 3) >> (int)((offset & 7) * 8));

    private static ulong Word(int seed, long op, long wordIndex) =>
        Mix(((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)op << 40) ^ (ulong)wordIndex);

    // splitmix64's finaliser: neighbouring inputs give unrelated outputs.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

namespace Orchestrator.Qcow2.Chain;

/// <summary>One planned host read: <see cref="Length"/> bytes at <see cref="HostOffset"/> of an image, into a buffer at <see cref="BufferOffset"/>.</summary>
public readonly record struct RawRead(Qcow2Image Image, long HostOffset, int Length, int BufferOffset)
{
    /// <summary>Whether the read can run beside others: no bounce buffer is needed even with O_DIRECT.</summary>
    public bool IsAligned => (HostOffset | (long)Length | (long)BufferOffset) % IO.AlignedBuffer.Alignment == 0;

    /// <summary>This read as consecutive reads of at most <paramref name="maxBytes"/> each (one if it is no longer).</summary>
    public IEnumerable<RawRead> Pieces(int maxBytes)
    {
        for (var done = 0; done < Length; done += maxBytes)
        {
            yield return this with { HostOffset = HostOffset + done, Length = Math.Min(maxBytes, Length - done), BufferOffset = BufferOffset + done };
        }
    }

    /// <summary>True when <paramref name="next"/> continues this read in the same file and the same buffer.</summary>
    public bool IsFollowedBy(RawRead next) =>
        ReferenceEquals(Image, next.Image) && HostOffset + Length == next.HostOffset && BufferOffset + Length == next.BufferOffset
        && (long)Length + next.Length <= 64 * 1024 * 1024;
}

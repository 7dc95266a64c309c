using System.Globalization;

namespace Orchestrator.Testing;

/// <summary>One entry of <c>qemu-img map --output=json</c>. <see cref="Offset"/> is absent for compressed or unallocated data.</summary>
public sealed record MapExtent(long Start, long Length, int Depth, bool Present, bool Zero, bool Data, long? Offset)
{
    public long End => Start + Length;

    public override string ToString()
    {
        var offset = Offset is { } o ? string.Create(CultureInfo.InvariantCulture, $", offset: {o} (0x{o:x})") : string.Empty;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{{ start: {Start} (0x{Start:x}), length: {Length}, depth: {Depth}, present: {Flag(Present)}, zero: {Flag(Zero)}, data: {Flag(Data)}{offset} }}");
    }

    private static string Flag(bool value) => value ? "true" : "false";
}

namespace Orchestrator.Qcow2.Map;

/// <summary>One line of qemu-img map --output=json.</summary>
public sealed record MapEntry(long Start, long Length, int Depth, bool Present, bool Zero, bool Data, long? Offset)
{
    /// <summary>QEMU's entry_mergeable(): same flags and depth, and contiguous host offsets when there are offsets.</summary>
    public bool CanAbsorb(MapEntry next) =>
        Length != 0 && Zero == next.Zero && Data == next.Data && Depth == next.Depth && Present == next.Present
        && Offset.HasValue == next.Offset.HasValue && (!Offset.HasValue || Offset + Length == next.Offset);

    /// <summary>The exact text qemu-img 7.2 prints for one entry.</summary>
    public string ToQemuJson()
    {
        var text = $"{{ \"start\": {Start}, \"length\": {Length}, \"depth\": {Depth}, \"present\": {Bool(Present)}, \"zero\": {Bool(Zero)}, \"data\": {Bool(Data)}";
        return Offset is { } offset ? text + $", \"offset\": {offset}}}" : text + "}";
    }

    private static string Bool(bool value) => value ? "true" : "false";
}

using System.Buffers.Binary;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Check;

/// <summary>The parts of the internal snapshot table a check needs: where each snapshot's L1 table is, and the table's own size.</summary>
internal static class SnapshotTable
{
    private const int FixedEntryBytes = 40;

    public static (long TableBytes, List<(long L1Offset, uint L1Size)> Snapshots) Read(ImageFile file, long offset, uint count, long fileLength)
    {
        var snapshots = new List<(long, uint)>();
        var position = offset;
        var fixedPart = new byte[FixedEntryBytes];
        for (var i = 0u; i < count; i++)
        {
            if (position + FixedEntryBytes > fileLength)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"snapshot table entry {i} lies beyond the end of the file", file.Path);
            }

            file.Read(fixedPart, position);
            var l1Offset = (long)BinaryPrimitives.ReadUInt64BigEndian(fixedPart);
            var l1Size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(8));
            var idSize = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(12));
            var nameSize = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(14));
            var extraSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(36));
            if (extraSize > 1024)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"snapshot {i} has {extraSize} bytes of extra data (QEMU allows 1024)", file.Path);
            }

            snapshots.Add((l1Offset, l1Size));
            var entryBytes = FixedEntryBytes + extraSize + idSize + nameSize;
            position += (entryBytes + 7) & ~7L;
        }

        return (position - offset, snapshots);
    }
}

using System.Buffers.Binary;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Check;

/// <summary>
/// The clusters persistent dirty bitmaps use ("Bitmaps extension" in qcow2.txt): the bitmap directory, each bitmap
/// table, and every data cluster a table entry points at. Only counted, never changed: we refuse to write such images.
/// </summary>
internal static class BitmapDirectory
{
    private const int FixedEntryBytes = 24;
    private const ulong TableEntryOffsetMask = 0x00FF_FFFF_FFFF_FE00UL;

    public static IEnumerable<(long Offset, long Length, string What)> References(ImageFile file, byte[] extension, long fileLength)
    {
        var count = BinaryPrimitives.ReadUInt32BigEndian(extension);
        var directorySize = BinaryPrimitives.ReadUInt64BigEndian(extension.AsSpan(8));
        var directoryOffset = BinaryPrimitives.ReadUInt64BigEndian(extension.AsSpan(16));
        if (count > 65535 || directorySize > 64 * 1024 * 1024 || directoryOffset >= (ulong)fileLength)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, "the bitmaps extension points at an invalid bitmap directory", file.Path);
        }

        var results = new List<(long, long, string)> { ((long)directoryOffset, (long)directorySize, "the bitmap directory") };
        var directory = new byte[directorySize];
        file.Read(directory, (long)directoryOffset);
        var position = 0;
        for (var i = 0; i < count; i++)
        {
            if (position + FixedEntryBytes > directory.Length)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"bitmap directory entry {i} runs past the directory", file.Path);
            }

            var tableOffset = BinaryPrimitives.ReadUInt64BigEndian(directory.AsSpan(position));
            var tableSize = BinaryPrimitives.ReadUInt32BigEndian(directory.AsSpan(position + 8));
            var nameSize = BinaryPrimitives.ReadUInt16BigEndian(directory.AsSpan(position + 18));
            var extraSize = BinaryPrimitives.ReadUInt32BigEndian(directory.AsSpan(position + 20));
            if (tableOffset >= (ulong)fileLength || tableSize > 8 * 1024 * 1024 || extraSize > 1024 * 1024)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"bitmap {i} has an invalid bitmap table", file.Path);
            }

            results.Add(((long)tableOffset, (long)tableSize * 8, $"bitmap {i}'s table"));
            var table = new byte[tableSize * 8];
            file.Read(table, (long)tableOffset);
            for (var e = 0; e < tableSize; e++)
            {
                var cluster = (long)(BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(e * 8)) & TableEntryOffsetMask);
                if (cluster != 0)
                {
                    results.Add((cluster, 1, $"bitmap {i}'s data"));
                }
            }

            position += (int)((FixedEntryBytes + extraSize + nameSize + 7) & ~7u);
        }

        return results;
    }
}

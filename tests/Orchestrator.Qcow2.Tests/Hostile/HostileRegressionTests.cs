using System.Buffers.Binary;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Check;
using Orchestrator.Qcow2.Format;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// The smallest known reproduction of every bug the hostile-input runs found, as fixed mutations of images
/// made by qemu-img: each must end in a Qcow2Exception (or a check result), never another exception type.
/// </summary>
public sealed class HostileRegressionTests : IDisposable
{
    private readonly TempDirectory _dir = new("qcow2-regressions");

    [Theory]
    [InlineData(72)]
    [InlineData(77)]
    [InlineData(96)]
    [InlineData(100)]
    [InlineData(103)]
    public void V3HeaderCutInsideTheVersion3FieldsIsInvalidFormat(int length)
    {
        // Found by Truncation mutants: "truncate from 851968 to 77 bytes" (v3, 64 KiB clusters).
        var path = CreateImage("cut-v3.qcow2");
        var bytes = File.ReadAllBytes(path)[..length];
        File.WriteAllBytes(path, bytes);

        var parse = Assert.Throws<Qcow2Exception>(() => Qcow2Header.Parse(bytes, bytes.Length, path));
        var open = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()));

        Assert.Equal(Qcow2ErrorKind.InvalidFormat, parse.Kind);
        Assert.Equal(Qcow2ErrorKind.InvalidFormat, open.Kind);
    }

    [Theory]
    [InlineData(0xFFFF_FFFF_FFFF_FF00UL, 0x200u)]
    [InlineData(0xFFFF_FFFF_FFFF_FFFFUL, 0x1u)]
    [InlineData(0xFFFF_FFFF_FFFF_FFFFUL, 0x3FFu)]
    public void BackingNameOffsetThatWrapsAroundIsInvalidFormat(ulong offset, uint size)
    {
        // Found by ExtensionsAndBackingName mutants: offset + size overflows 64 bits and passes the bounds checks.
        var path = CreateImage("wrap.qcow2");
        Patch(path, b =>
        {
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), offset);
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(16), size);
        });

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()));

        Assert.Equal(Qcow2ErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("backing file name", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1UL << 63)]
    [InlineData((1UL << 63) | (1UL << 62))]
    public void RefcountTableEntryWithTheTopBitSetIsReportedAsCorruption(ulong bits)
    {
        // Found by Refcounts mutants: "set refcount table[0] = 0x8000000000020000"; the entry becomes a negative offset.
        var path = CreateImage("rt-top-bit.qcow2");
        Patch(path, b =>
        {
            var table = (int)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(48));
            var entry = BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(table));
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(table), entry | bits);
        });

        using (var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()))
        {
            var result = CheckOrCorrupt(image);
            Assert.True(result is null || result.Corruptions > 0, "a refcount block at a negative offset must be a corruption");
        }

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadWrite()));
        Assert.Equal(Qcow2ErrorKind.Corrupt, e.Kind);
    }

    [Fact]
    public void SnapshotL1OffsetWithTheTopBitSetIsReportedAsCorruption()
    {
        // Found by Snapshots mutants: "set snapshot l1_table_offset = 0x8000000000010000".
        var path = CreateImage("snap-top-bit.qcow2");
        QemuTools.Img("snapshot", "-c", "s1", path).EnsureSuccess();
        Patch(path, b =>
        {
            var table = (int)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(64));
            var l1 = BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(table));
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(table), l1 | (1UL << 63));
        });

        using var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly());
        var result = CheckOrCorrupt(image);

        Assert.True(result is null || result.Corruptions > 0, "a snapshot L1 table at a negative offset must be a corruption");
    }

    [Fact]
    public void ChainOpenedWithARefcountTableEntryWithTheTopBitSetRefusesWriting()
    {
        var path = CreateImage("rt-top-bit-chain.qcow2");
        Patch(path, b =>
        {
            var table = (int)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(48));
            b[table] |= 0x80;
        });

        var e = Assert.Throws<Qcow2Exception>(() => ImageChain.Open(path, new ChainOpenOptions { WritableTop = true }).Dispose());
        Assert.Equal(Qcow2ErrorKind.Corrupt, e.Kind);
    }

    [Theory]
    [InlineData("missing backing file")]
    [InlineData("raw backing format")]
    [InlineData("header that cannot be rewritten")]
    public void RefusedWritableOpenLeavesTheFileUnchanged(string refusal)
    {
        // Found by Combined/HeaderBytes mutants: the open-time check repairs a leak (a write), then the open is refused.
        var path = _dir.Combine("top.qcow2");
        switch (refusal)
        {
            case "missing backing file":
                QemuTools.Img("create", "-q", "-f", "qcow2", "-u", "-b", "gone.qcow2", "-F", "qcow2", path, "4M").EnsureSuccess();
                break;
            case "raw backing format":
                File.WriteAllBytes(_dir.Combine("base.raw"), new byte[4 << 20]);
                QemuTools.Img("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", path, "4M").EnsureSuccess();
                break;
            default:
                QemuTools.Create(path, 4L << 20);
                Patch(path, b =>
                {
                    // Legal for QEMU to read, but neither QEMU nor we can write such a header back (no room for extensions).
                    BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(100), 65536);
                    BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(88), 0x20);
                });
                break;
        }

        AddLeakedCluster(path);
        var before = File.ReadAllBytes(path);

        var e = Assert.Throws<Qcow2Exception>(() => ImageChain.Open(path, new ChainOpenOptions { WritableTop = true }).Dispose());

        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(path)), $"refused with {e.Kind} ({e.Message}) but the file was modified");
    }

    [Fact]
    public void HeaderThatCannotBeRewrittenIsRefusedAsAFileProblem()
    {
        // InvalidArgument means "the caller passed something wrong"; here the file is the problem.
        var path = CreateImage("unwritable-header.qcow2");
        Patch(path, b =>
        {
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(100), 65536);
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(88), 0x20);
        });

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadWrite()).Dispose());

        Assert.True(e.Kind is Qcow2ErrorKind.InvalidFormat or Qcow2ErrorKind.UnsupportedFeature, $"{e.Kind}: {e.Message}");
    }

    [Theory]
    [InlineData(40, 36, 8192u)]
    [InlineData(48, 56, 1u)]
    public void TableWhoseEndOverflowsPastTheLargestOffsetIsRefusedByTheHeaderCheck(int offsetField, int sizeField, uint size)
    {
        // Found by HeaderFields mutants: offset + size wraps negative and passes "lies beyond the end of the file";
        // the read then fails with EINVAL, reported as an Io error instead of a bad header.
        var path = CreateImage("overflow.qcow2");
        Patch(path, b =>
        {
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(offsetField), 0x7FFF_FFFF_FFFF_0000UL);
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(sizeField), size);
        });

        var e = Assert.Throws<Qcow2Exception>(() =>
        {
            using var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly());
            ImageChecker.Check(image, repairLeaks: false);
        });

        Assert.True(e.Kind is Qcow2ErrorKind.Corrupt or Qcow2ErrorKind.InvalidFormat, $"{e.Kind}: {e.Message}");
    }

    [Fact]
    public void ForgottenSnapshotTableIsRefusedForWritingInsteadOfRepairedIntoCorruption()
    {
        // Found by HeaderBytes mutants (seed 147485340, #29: nb_snapshots 1 -> 0): the clusters the snapshot shared
        // keep refcount 2 behind L2 entries without OFLAG_COPIED. qemu-img check sees leaks only; lowering them to 1
        // (the open-time leak repair) would leave entries whose flag disagrees with their refcount, which QEMU
        // counts as corruption. The repair (asked for at open, as a clean image is not checked) must not run, and the
        // writable open must be refused.
        var path = CreateImage("forgotten-snapshot.qcow2");
        QemuTools.Img("snapshot", "-c", "s1", path).EnsureSuccess();
        Patch(path, b => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(60), 0));
        Assert.Equal(3, QemuTools.Check(path).ExitCode);
        var before = File.ReadAllBytes(path);

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadWrite() with { RepairLeaksOnOpen = true }).Dispose());

        Assert.Equal(Qcow2ErrorKind.Corrupt, e.Kind);
        Assert.Contains("OFLAG_COPIED", e.Message, StringComparison.Ordinal);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(path)), "the refused open modified the file");
        using (var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()))
        {
            var readOnly = ImageChecker.Check(image, repairLeaks: false);
            Assert.True(readOnly is { Corruptions: 0 } && readOnly.Leaks > 0, "a read-only check still reports what qemu-img check does: leaks only");
        }

        // A plain writable open does not check (as QEMU's). Overwriting data in place changes no metadata; an allocation
        // in the L2 table the lost snapshot shared is refused. Either way the leaks stay as they were and nothing is corrupt.
        using (var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true }))
        {
            chain.Write(0, new byte[4096].AsSpan());
            chain.Flush();
            var allocation = Assert.Throws<Qcow2Exception>(() => chain.Write(1L << 20, new byte[4096].AsSpan()));
            Assert.Equal(Qcow2ErrorKind.UnsupportedFeature, allocation.Kind);
        }

        Assert.Equal(3, QemuTools.Check(path).ExitCode);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Appends one cluster and gives it refcount 1 without any reference: a leak, as a crash leaves them.</summary>
    private static void AddLeakedCluster(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var cs = 1 << (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(20));
        var cluster = (bytes.Length + cs - 1) / cs;
        var table = (int)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(48));
        var block = (int)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(table));
        Array.Resize(ref bytes, (cluster + 1) * cs);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(block + (cluster * 2)), 1);
        File.WriteAllBytes(path, bytes);

        // Our own read-only check, since qemu-img check cannot open a top whose backing file is missing.
        using var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly());
        var result = ImageChecker.Check(image, repairLeaks: false);
        Assert.True(result is { Corruptions: 0, Leaks: 1 }, string.Join("; ", result.Messages));
    }

    private string CreateImage(string name)
    {
        var path = _dir.Combine(name);
        QemuTools.Create(path, 4L << 20);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 128k", "-c", "write -c -P 0x22 256k 64k", path).EnsureSuccess();
        return path;
    }

    private static void Patch(string path, Action<byte[]> patch)
    {
        var bytes = File.ReadAllBytes(path);
        patch(bytes);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The check's result, or null when it refused with a Corrupt Qcow2Exception (also acceptable).</summary>
    private static CheckResult? CheckOrCorrupt(Qcow2Image image)
    {
        try
        {
            return ImageChecker.Check(image, repairLeaks: false);
        }
        catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.Corrupt)
        {
            return null;
        }
    }
}

using System.Globalization;
using Orchestrator.Testing;

namespace Orchestrator.Nbd.Tests;

/// <summary>The server as libnbd's tools and QEMU see it: the handshake and transmission they really do.</summary>
public sealed class RealClientTests : ServerTestBase
{
    [Fact]
    public void Nbdinfo_lists_every_export_with_its_size()
    {
        var list = QemuTools.NbdInfoRun("--list", "--json", $"nbd+unix://?socket={Server.SocketPath}").EnsureSuccess().StdOut;
        var exports = System.Text.Json.JsonDocument.Parse(list).RootElement.GetProperty("exports").EnumerateArray()
            .ToDictionary(e => e.GetProperty("export-name").GetString()!, e => e.GetProperty("export-size").GetInt64());
        Assert.Equal(ServerUnderTest.DiskSize, exports["disk1"]);
        Assert.Equal(1024 * 1024, exports["other"]);
    }

    [Fact]
    public void Nbdinfo_reports_block_sizes_and_write_capabilities()
    {
        var info = QemuTools.NbdInfoRun("--json", Server.Uri("disk1")).EnsureSuccess().StdOut;
        var export = System.Text.Json.JsonDocument.Parse(info).RootElement.GetProperty("exports")[0];
        Assert.Equal(1, export.GetProperty("block_size_minimum").GetInt64());
        Assert.Equal(4096, export.GetProperty("block_size_preferred").GetInt64());
        Assert.Equal(32 * 1024 * 1024, export.GetProperty("block_size_maximum").GetInt64());
        Assert.False(export.GetProperty("is_read_only").GetBoolean());
        Assert.True(export.GetProperty("can_flush").GetBoolean());
        Assert.True(export.GetProperty("can_fua").GetBoolean());
        Assert.True(export.GetProperty("can_zero").GetBoolean());
        Assert.True(export.GetProperty("can_trim").GetBoolean());
        Assert.True(export.GetProperty("can_multi_conn").GetBoolean());
        Assert.True(export.GetProperty("can_fast_zero").GetBoolean());
    }

    [Fact]
    public void An_unknown_export_fails_with_the_servers_message_naming_it()
    {
        // libnbd reports the error and the name; QEMU also shows the server's own message.
        var nbdinfo = QemuTools.NbdInfoRun(Server.Uri("nosuch"));
        Assert.NotEqual(0, nbdinfo.ExitCode);
        Assert.True(nbdinfo.StdErr.Contains("export: nosuch", StringComparison.Ordinal), nbdinfo.StdErr);

        var qemu = QemuTools.Io("-f", "raw", "-c", "read 0 512", Server.Uri("nosuch"));
        Assert.NotEqual(0, qemu.ExitCode);
        Assert.True(qemu.StdErr.Contains("unknown export 'nosuch'", StringComparison.Ordinal), qemu.StdErr);
    }

    [Fact]
    public void Qemu_io_writes_zeroes_flushes_and_reads_back_over_nbd()
    {
        var io = QemuTools.Io("-f", "raw", "-c", "write -P 0xab 65536 1M", "-c", "write -z 131072 4096", "-c", "flush",
            "-c", "read -P 0xab 65536 65536", "-c", "read -P 0 131072 4096", "-c", "read -P 0xab 135168 978944", Server.Uri("disk1"));
        Assert.True(io.ExitCode == 0 && !io.StdOut.Contains("Pattern verification failed", StringComparison.Ordinal), io.StdOut + io.StdErr);
        var disk = Server.Disk.Snapshot();
        Assert.All(disk.AsSpan(65536, 65536).ToArray(), b => Assert.Equal(0xab, b));
        Assert.All(disk.AsSpan(131072, 4096).ToArray(), b => Assert.Equal(0, b));
        Assert.True(Server.Disk.Flushes >= 1);
    }

    [Fact]
    public void Nbdcopy_copies_the_export_byte_for_byte()
    {
        var pattern = TransmissionTests.Pattern(ServerUnderTest.DiskSize, 9);
        Server.Disk.Write(0, pattern);
        var target = Path.Combine(Server.Folder, "copy.raw");
        QemuTools.NbdCopyRun(Server.Uri("disk1"), target).EnsureSuccess();
        Assert.Equal(pattern, File.ReadAllBytes(target));
        Assert.Equal(ServerUnderTest.DiskSize.ToString(CultureInfo.InvariantCulture), new FileInfo(target).Length.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Nbdinfo_map_shows_the_exports_allocation()
    {
        Server.Disk.Write(65536, TransmissionTests.Pattern(131072, 4));
        var map = QemuTools.NbdInfoRun("--map", Server.Uri("disk1")).EnsureSuccess().StdOut;
        var lines = map.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(["0", "65536", "3"], lines[0][..3]);
        Assert.Equal(["65536", "131072", "0"], lines[1][..3]);
        Assert.Equal(["196608", (ServerUnderTest.DiskSize - 196608).ToString(CultureInfo.InvariantCulture), "3"], lines[2][..3]);
    }

    [Fact]
    public void Nbdcopy_with_four_connections_writes_and_reads_the_export_byte_for_byte()
    {
        var pattern = TransmissionTests.Pattern(ServerUnderTest.DiskSize, 11);
        var source = Path.Combine(Server.Folder, "source.raw");
        File.WriteAllBytes(source, pattern);
        QemuTools.NbdCopyRun("--connections", "4", "--requests", "16", source, Server.Uri("disk1")).EnsureSuccess();
        Assert.Equal(pattern, Server.Disk.Snapshot());

        var back = Path.Combine(Server.Folder, "back.raw");
        QemuTools.NbdCopyRun("--connections", "4", Server.Uri("disk1"), back).EnsureSuccess();
        Assert.Equal(pattern, File.ReadAllBytes(back));
    }
}

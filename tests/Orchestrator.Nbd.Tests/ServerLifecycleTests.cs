using System.Net.Sockets;
using Orchestrator.Testing;

namespace Orchestrator.Nbd.Tests;

/// <summary>The server's sockets and connections: the Unix socket file, closing an export's clients, shutdown.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServerLifecycleTests
{
    [Fact]
    public async Task The_unix_socket_is_mode_0600_and_removed_at_dispose()
    {
        var server = new ServerUnderTest();
        var path = server.SocketPath;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        await server.Server.DisposeAsync();
        Assert.False(File.Exists(path));
        await server.DisposeAsync();
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced_and_a_live_one_is_refused()
    {
        using var folder = new TempDirectory("nbd-stale");
        var path = folder.Combine("nbd.sock");
        LeaveStaleSocket(path, folder.Combine("disk.raw"));
        var exports = new MemoryExports(new MemoryExport("d", 4096));
        await using var live = new NbdServer(exports);
        live.ListenUnix(path);
        await using (var client = await RawNbdClient.ConnectAsync(path))
        {
            await client.GoAsync("d");
        }

        await using var second = new NbdServer(exports);
        var refused = Assert.Throws<IOException>(() => second.ListenUnix(path));
        Assert.Contains("another NBD server", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closing_an_export_ends_its_connections_and_leaves_the_others()
    {
        await using var server = new ServerUnderTest();
        await using var onDisk = await server.ConnectAsync();
        await onDisk.GoAsync("disk1");
        await using var onOther = await server.ConnectAsync();
        await onOther.GoAsync("other");
        await using var negotiating = await server.ConnectAsync();
        await negotiating.HandshakeAsync();

        await server.Server.CloseExportAsync("disk1");
        Assert.True(await onDisk.IsClosedByServerAsync());
        await onOther.SendRequestAsync(0, 3, 1, 0, 0);
        Assert.Equal(0u, (await onOther.ReadReplyAsync()).Error);
        await negotiating.SendOptionAsync(3);
        Assert.Equal(RawNbdClient.RepAck, (await negotiating.ReadOptionRepliesAsync())[^1].Type);
    }

    [Fact]
    public async Task Closing_an_export_lets_the_request_in_progress_finish_and_answer_first()
    {
        await using var server = new ServerUnderTest();
        var gate = new SemaphoreSlim(0);
        var slow = new SlowExport(server.Disk, gate);
        await using var nbd = new NbdServer(new SlowExports(slow));
        var path = Path.Combine(server.Folder, "slow.sock");
        nbd.ListenUnix(path);
        await using var client = await RawNbdClient.ConnectAsync(path);
        await client.GoAsync("disk1");
        var data = TransmissionTests.Pattern(4096, 1);
        await client.SendRequestAsync(0, 1, 5, 0, 4096, data);
        await slow.Entered.WaitAsync(TimeSpan.FromSeconds(10));

        var closing = nbd.CloseExportAsync("disk1");
        await Task.Delay(100);
        Assert.False(closing.IsCompleted);
        gate.Release();
        await closing.WaitAsync(TimeSpan.FromSeconds(10));

        var reply = await client.ReadReplyAsync();
        Assert.Equal((0u, 5ul), (reply.Error, reply.Cookie));
        Assert.Equal(data, server.Disk.Snapshot().AsSpan(0, 4096).ToArray());
        Assert.True(await client.IsClosedByServerAsync());
    }

    /// <summary>
    /// What a killed server leaves behind: a socket file nobody listens on. .NET unlinks the file of a socket it
    /// closes, so the file comes from qemu-nbd, killed with SIGKILL while it listened.
    /// </summary>
    private static void LeaveStaleSocket(string path, string rawFile)
    {
        File.WriteAllBytes(rawFile, new byte[65536]);
        using var qemuNbd = System.Diagnostics.Process.Start(QemuTools.QemuNbd, ["-f", "raw", "-k", path, "--persistent", rawFile]);
        for (var i = 0; i < 500 && !File.Exists(path); i++)
        {
            Thread.Sleep(10);
        }

        qemuNbd.Kill();
        qemuNbd.WaitForExit();
        Assert.True(File.Exists(path), "qemu-nbd did not create its socket");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Assert.Throws<SocketException>(() => probe.Connect(new UnixDomainSocketEndPoint(path)));
    }

    /// <summary>An export whose writes wait for the test to let them finish: a request "in progress" on demand.</summary>
    private sealed class SlowExport(MemoryExport inner, SemaphoreSlim gate) : INbdExport
    {
        public SemaphoreSlim Entered { get; } = new(0);

        public string Name => inner.Name;

        public long Size => inner.Size;

        public bool IsReadOnly => false;

        public void Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            Entered.Release();
            gate.Wait();
            inner.Write(offset, data);
        }

        public bool WriteZeroes(long offset, long length, bool fastOnly) => inner.WriteZeroes(offset, length, fastOnly);

        public void Trim(long offset, long length) => inner.Trim(offset, length);

        public void Flush() => inner.Flush();

        public IReadOnlyList<NbdExtent> BlockStatus(long offset, long length, int maxExtents) => inner.BlockStatus(offset, length, maxExtents);
    }

    private sealed class SlowExports(SlowExport export) : INbdExportProvider
    {
        public ValueTask<INbdExport?> FindAsync(string name, CancellationToken cancel) =>
            ValueTask.FromResult<INbdExport?>(name == export.Name ? export : null);

        public ValueTask<IReadOnlyList<string>> ListAsync(CancellationToken cancel) => ValueTask.FromResult<IReadOnlyList<string>>([export.Name]);
    }
}

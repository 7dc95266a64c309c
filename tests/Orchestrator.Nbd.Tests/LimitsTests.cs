using System.Buffers.Binary;
using System.Net.Sockets;
using Orchestrator.Testing;

namespace Orchestrator.Nbd.Tests;

/// <summary>What a client can make the server hold: buffers bounded per server and given back, handshakes that time out.</summary>
public sealed class LimitsTests
{
    private const int Big = 32 * 1024 * 1024;

    /// <summary>Each connection's read here; the node test reads 32 MiB per connection, this keeps the test process small.</summary>
    private const int Each = 4 * 1024 * 1024;

    [Fact]
    public async Task Thirty_two_connections_reading_at_once_stay_within_the_servers_budget_and_give_the_memory_back()
    {
        using var folder = new TempDirectory("nbd-limits");
        // The smallest budget allowed (one 32 MiB request): eight 4 MiB reads at a time.
        var options = new NbdServerOptions { MaxBytesPerServer = NbdServerOptions.MinimumByteBudget, RetainedBytes = 4 * 1024 * 1024 };
        var export = new MemoryExport("big", Big);
        export.Write(0, TransmissionTests.Pattern(Big, 3));
        await using var server = new NbdServer(new MemoryExports(export), options: options);
        var socket = folder.Combine("nbd.sock");
        server.ListenUnix(socket);

        var peak = 0L;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, server.Buffers.BytesInUse);
                await Task.Delay(1);
            }
        });

        var clients = await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            var client = await RawNbdClient.ConnectAsync(socket);
            await client.GoAsync("big");
            await client.SendRequestAsync(0, 0, (ulong)i, (ulong)(i % 8) * Each, Each);
            return client;
        }));
        // Every client reads its reply at once: the server serves them a few at a time, in whatever order.
        await Task.WhenAll(clients.Select(async client =>
        {
            var reply = await client.ReadReplyAsync(Each);
            Assert.Equal(0u, reply.Error);
            Assert.Equal(Each, reply.Data.Length);
            await client.DisposeAsync();
        }));

        await sampling.CancelAsync();
        await sampler;
        await TransmissionTests.WaitUntilAsync(() => server.ConnectionCount == 0);
        Assert.True(peak <= options.MaxBytesPerServer, $"buffers in use peaked at {peak} bytes, above the budget of {options.MaxBytesPerServer}");
        Assert.Equal(0, server.Buffers.BytesInUse);
        Assert.True(server.Buffers.BytesMapped <= options.RetainedBytes, $"{server.Buffers.BytesMapped} bytes still mapped after every connection closed");
    }

    /// <summary>
    /// One client alone cannot take the server's whole budget: it sends 24 reads of 4 MiB (96 MiB of replies) and reads
    /// none of them for a while; the buffers it holds stay within its connection's share, and every reply comes right.
    /// </summary>
    [Fact]
    public async Task One_connection_that_does_not_read_its_replies_holds_at_most_its_share_of_buffers()
    {
        using var folder = new TempDirectory("nbd-limits");
        var options = new NbdServerOptions { MaxBytesPerConnection = NbdServerOptions.MinimumByteBudget, MaxBytesPerServer = 256L * 1024 * 1024 };
        var export = new MemoryExport("big", Big);
        var content = TransmissionTests.Pattern(Big, 5);
        export.Write(0, content);
        await using var server = new NbdServer(new MemoryExports(export), options: options);
        var socket = folder.Combine("nbd.sock");
        server.ListenUnix(socket);

        await using var client = await RawNbdClient.ConnectAsync(socket);
        await client.GoAsync("big");
        const int requests = 24;
        for (var i = 0; i < requests; i++)
        {
            await client.SendRequestAsync(0, 0, (ulong)i, (ulong)(i % 8) * Each, Each);
        }

        // The client reads nothing for a second: the server serves what its share allows, then waits.
        var peak = 0L;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            peak = Math.Max(peak, server.Buffers.BytesInUse);
            await Task.Delay(1);
        }

        Assert.True(peak > 0, "the server served nothing while the client waited");
        Assert.True(peak <= options.MaxBytesPerConnection, $"one connection held {peak} bytes of buffers, above its share of {options.MaxBytesPerConnection}");
        for (var i = 0; i < requests; i++)
        {
            var reply = await client.ReadReplyAsync(Each);
            Assert.Equal(0u, reply.Error);
            var offset = (int)(reply.Cookie % 8) * Each;
            Assert.True(reply.Data.AsSpan().SequenceEqual(content.AsSpan(offset, Each)), $"reply {reply.Cookie} holds other bytes");
        }

        await TransmissionTests.WaitUntilAsync(() => server.Buffers.BytesInUse == 0);
    }

    [Fact]
    public async Task Three_hundred_idle_half_open_connections_are_closed_after_the_handshake_timeout()
    {
        using var folder = new TempDirectory("nbd-limits");
        await using var server = new NbdServer(new MemoryExports(new MemoryExport("disk", 4096)), options: new NbdServerOptions { HandshakeTimeout = TimeSpan.FromSeconds(1) });
        var path = folder.Combine("nbd.sock");
        server.ListenUnix(path);

        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
                sockets.Add(socket);
                if (i % 3 == 1)
                {
                    // Some get as far as the client flags, then go quiet.
                    await socket.SendAsync(new byte[] { 0, 0, 0, 3 });
                }
            }

            await WaitAsync(() => server.ConnectionCount == 0, TimeSpan.FromSeconds(30));
            Assert.Equal(0, server.ConnectionCount);
            foreach (var socket in sockets)
            {
                // The greeting (18 bytes), then the end of the stream.
                var buffer = new byte[64];
                var total = 0;
                int n;
                while ((n = await socket.ReceiveAsync(buffer.AsMemory(total))) > 0)
                {
                    total += n;
                }

                Assert.Equal(18, total);
            }

            // A client that does finish its handshake is still served.
            await using var client = await RawNbdClient.ConnectAsync(path);
            await client.GoAsync("disk");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_read_only_export_says_so_and_refuses_writes_trims_and_zeroes_with_eperm()
    {
        await using var server = new ServerUnderTest();
        server.Disk.IsReadOnly = true;
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(7, RawNbdClient.InfoData("disk1"));
        var export = (await client.ReadOptionRepliesAsync()).First(r => r.Type == RawNbdClient.RepInfo && BinaryPrimitives.ReadUInt16BigEndian(r.Data) == 0);
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(export.Data.AsSpan(10)) & 2);

        await client.SendRequestAsync(0, 1, 1, 0, 4, [1, 2, 3, 4]);
        Assert.Equal(1u, (await client.ReadReplyAsync()).Error);
        await client.SendRequestAsync(0, 4, 2, 0, 4096);
        Assert.Equal(1u, (await client.ReadReplyAsync()).Error);
        await client.SendRequestAsync(0, 6, 3, 0, 4096);
        Assert.Equal(1u, (await client.ReadReplyAsync()).Error);
        await client.SendRequestAsync(0, 0, 4, 0, 4);
        Assert.Equal(0u, (await client.ReadReplyAsync(4)).Error);
        Assert.All(server.Disk.Snapshot().AsSpan(0, 4).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Options_out_of_range_are_refused_naming_the_option()
    {
        Assert.Equal("HandshakeTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => new NbdServerOptions { HandshakeTimeout = TimeSpan.Zero }).ParamName);
        Assert.Equal("MaxBytesPerServer", Assert.Throws<ArgumentOutOfRangeException>(() => new NbdServerOptions { MaxBytesPerServer = 1024 }).ParamName);
        Assert.Equal("MaxRequestsPerConnection", Assert.Throws<ArgumentOutOfRangeException>(() => new NbdServerOptions { MaxRequestsPerConnection = 0 }).ParamName);
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}

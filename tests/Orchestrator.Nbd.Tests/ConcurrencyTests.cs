namespace Orchestrator.Nbd.Tests;

/// <summary>Many requests in flight on one connection: they run at once and their replies come back as each finishes.</summary>
public sealed class ConcurrencyTests : ServerTestBase
{
    private const ushort Read = 0;
    private const ushort Write = 1;
    private const ushort Flush = 3;

    [Fact]
    public async Task A_slow_read_does_not_hold_back_the_replies_of_requests_sent_after_it()
    {
        Server.Disk.HoldReadsAt = 8192;
        await using var client = await Server.ConnectAsync();
        await client.GoAsync("disk1");
        try
        {
            await client.SendRequestAsync(0, Read, cookie: 1, 8192, 4096);
            var data = TransmissionTests.Pattern(4096, 5);
            await client.SendRequestAsync(0, Write, cookie: 2, 65536, 4096, data);

            // The write, and then a read sent after it, answer while the first read is still held.
            Assert.Equal(2ul, (await client.ReadReplyAsync()).Cookie);
            await client.SendRequestAsync(0, Read, cookie: 3, 65536, 4096);
            var second = await client.ReadReplyAsync(4096);
            Assert.Equal(3ul, second.Cookie);
            Assert.Equal(data, second.Data);
        }
        finally
        {
            Server.Disk.HeldReads.Set();
        }

        var first = await client.ReadReplyAsync(4096);
        Assert.Equal((0u, 1ul), (first.Error, first.Cookie));
    }

    [Fact]
    public async Task Two_hundred_pipelined_writes_and_reads_all_answer_with_their_data()
    {
        var seed = Environment.TickCount;
        Console.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var client = await Server.ConnectAsync();
        await client.GoAsync("disk1");
        var blocks = Enumerable.Range(0, 100).Select(i => (Offset: (ulong)i * 8192, Data: TransmissionTests.Pattern(random.Next(1, 8192), i))).ToList();
        var sending = Task.Run(async () =>
        {
            foreach (var (block, i) in blocks.Select((b, i) => (b, i)))
            {
                await client.SendRequestAsync(0, Write, (ulong)i, block.Offset, (uint)block.Data.Length, block.Data);
            }

            await client.SendRequestAsync(0, Flush, 1000, 0, 0);
        });

        var written = new HashSet<ulong>();
        for (var i = 0; i < 101; i++)
        {
            var reply = await client.ReadReplyAsync();
            Assert.Equal(0u, reply.Error);
            Assert.True(written.Add(reply.Cookie), $"cookie {reply.Cookie} answered twice");
        }

        await sending;
        foreach (var (block, i) in blocks.Select((b, i) => (b, i)))
        {
            await client.SendRequestAsync(0, Read, 2000 + (ulong)i, block.Offset, (uint)block.Data.Length);
        }

        // Replies come in any order: the cookie says which block, and so how many data bytes follow the header.
        for (var i = 0; i < blocks.Count; i++)
        {
            var header = await client.ReadReplyAsync();
            Assert.Equal(0u, header.Error);
            var block = blocks[(int)(header.Cookie - 2000)];
            Assert.Equal(block.Data, await client.ReadAsync(block.Data.Length));
        }
    }

    [Fact]
    public async Task A_hundred_requests_in_flight_then_an_abrupt_disconnect_leave_the_server_healthy()
    {
        var client = await Server.ConnectAsync();
        await client.GoAsync("disk1");
        // The server takes at most 64 requests of one connection at a time and stops reading the rest until replies
        // go out, and this client never reads a reply: so the sends are not awaited one by one. Once the server is
        // full (or all 100 went), the client vanishes with everything in flight.
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await client.SendRequestAsync(0, i % 2 == 0 ? Read : Write, (ulong)i, (ulong)i * 4096, 65536, i % 2 == 0 ? null : new byte[65536]);
            }
        });
        await Task.WhenAny(sending, Task.Delay(TimeSpan.FromSeconds(2)));
        await client.DisposeAsync();
        await sending.ContinueWith(_ => { }, TaskScheduler.Default);
        await TransmissionTests.WaitUntilAsync(() => Server.Server.ConnectionCount == 0);
        await TransmissionTests.WaitUntilAsync(() => Server.Server.Buffers.BytesInUse == 0);

        await using var next = await Server.ConnectAsync();
        await next.GoAsync("disk1");
        await next.SendRequestAsync(0, Read, 7, 0, 512);
        var reply = await next.ReadReplyAsync(512);
        Assert.Equal((0u, 7ul), (reply.Error, reply.Cookie));
    }
}

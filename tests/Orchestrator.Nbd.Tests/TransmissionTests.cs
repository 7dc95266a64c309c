namespace Orchestrator.Nbd.Tests;

/// <summary>Requests of the transmission phase: what each does to the export, and the error each refusal carries.</summary>
public sealed class TransmissionTests : ServerTestBase
{
    private const ushort Read = 0;
    private const ushort Write = 1;
    private const ushort Disc = 2;
    private const ushort Flush = 3;
    private const ushort Trim = 4;
    private const ushort BlockStatus = 7;
    private const ushort WriteZeroes = 6;
    private const ushort Fua = 1;
    private const ushort NoHole = 2;
    private const uint Eio = 5;
    private const uint Einval = 22;
    private const uint Enospc = 28;
    private RawNbdClient _client = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _client = await Server.ConnectAsync();
        await _client.GoAsync("disk1");
    }

    public override async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task Write_then_read_returns_the_bytes_and_the_cookie()
    {
        var data = Pattern(10000, seed: 3);
        await _client.SendRequestAsync(0, Write, cookie: 0x1122334455667788, offset: 12345, (uint)data.Length, data);
        var written = await _client.ReadReplyAsync();
        Assert.Equal((0u, 0x1122334455667788ul), (written.Error, written.Cookie));
        Assert.Equal(data, Server.Disk.Snapshot().AsSpan(12345, data.Length).ToArray());

        await _client.SendRequestAsync(0, Read, cookie: 2, offset: 12345, (uint)data.Length);
        var read = await _client.ReadReplyAsync(data.Length);
        Assert.Equal(0u, read.Error);
        Assert.Equal(data, read.Data);
    }

    [Fact]
    public async Task Fua_write_flushes_and_a_plain_write_does_not()
    {
        await _client.SendRequestAsync(0, Write, 1, 0, 512, Pattern(512, 1));
        Assert.Equal(0u, (await _client.ReadReplyAsync()).Error);
        Assert.Equal(0, Server.Disk.Flushes);

        await _client.SendRequestAsync(Fua, Write, 2, 512, 512, Pattern(512, 2));
        Assert.Equal(0u, (await _client.ReadReplyAsync()).Error);
        Assert.Equal(1, Server.Disk.Flushes);

        await _client.SendRequestAsync(0, Flush, 3, 0, 0);
        Assert.Equal(0u, (await _client.ReadReplyAsync()).Error);
        Assert.Equal(2, Server.Disk.Flushes);
    }

    [Fact]
    public async Task Write_zeroes_with_no_hole_and_fua_clears_the_range()
    {
        await _client.SendRequestAsync(0, Write, 1, 0, 8192, Pattern(8192, 5));
        await _client.ReadReplyAsync();
        await _client.SendRequestAsync(NoHole | Fua, WriteZeroes, 2, 1000, 4000);
        Assert.Equal(0u, (await _client.ReadReplyAsync()).Error);
        var disk = Server.Disk.Snapshot();
        Assert.All(disk.AsSpan(1000, 4000).ToArray(), b => Assert.Equal(0, b));
        Assert.NotEqual(0, disk[999]);
        Assert.NotEqual(0, disk[5000]);
        Assert.Equal(1, Server.Disk.Flushes);
    }

    [Theory]
    [InlineData(Read, ServerUnderTest.DiskSize - 100UL, 101u)]
    [InlineData(Read, ServerUnderTest.DiskSize + 1UL, 0u)]
    [InlineData(Read, 0UL, 32u * 1024 * 1024 + 1)]
    [InlineData(WriteZeroes, ServerUnderTest.DiskSize - 1UL, 2u)]
    [InlineData(WriteZeroes, ulong.MaxValue - 1, 4u)]
    public async Task Out_of_range_or_oversized_requests_get_einval_and_the_connection_stays_usable(ushort type, ulong offset, uint length)
    {
        await _client.SendRequestAsync(0, type, cookie: 9, offset, length);
        var reply = await _client.ReadReplyAsync();
        Assert.Equal((Einval, 9ul), (reply.Error, reply.Cookie));
        await AssertUsableAsync();
    }

    [Fact]
    public async Task Out_of_range_write_has_its_payload_read_and_refused_and_the_connection_stays_usable()
    {
        var data = Pattern(4096, 8);
        await _client.SendRequestAsync(0, Write, 4, ServerUnderTest.DiskSize - 2048, (uint)data.Length, data);
        Assert.Equal(Einval, (await _client.ReadReplyAsync()).Error);
        Assert.All(Server.Disk.Snapshot(), b => Assert.Equal(0, b));
        await AssertUsableAsync();
    }

    [Fact]
    public async Task Oversized_write_is_drained_and_refused()
    {
        var data = new byte[(32 * 1024 * 1024) + 512];
        await _client.SendRequestAsync(0, Write, 5, 0, (uint)data.Length, data);
        Assert.Equal(Einval, (await _client.ReadReplyAsync()).Error);
        await AssertUsableAsync();
    }

    [Theory]
    [InlineData(BlockStatus, 0)]
    [InlineData(5, 0)]
    [InlineData(99, 0)]
    [InlineData(Read, Fua)]
    [InlineData(Flush, NoHole)]
    [InlineData(Trim, NoHole)]
    [InlineData(WriteZeroes, 1 << 3)]
    public async Task Unadvertised_commands_and_flags_get_einval(ushort type, ushort flags)
    {
        await _client.SendRequestAsync(flags, type, cookie: 11, 0, 512);
        Assert.Equal(Einval, (await _client.ReadReplyAsync()).Error);
        await AssertUsableAsync();
    }

    [Fact]
    public async Task Enospc_from_the_export_reaches_the_client_as_enospc_and_other_failures_as_eio()
    {
        Server.Disk.FailWritesFrom = 1024 * 1024;
        Server.Disk.FailWith = () => new NbdExportException(NbdError.NoSpace, "disk full");
        await _client.SendRequestAsync(0, Write, 1, 1024 * 1024, 512, Pattern(512, 1));
        Assert.Equal(Enospc, (await _client.ReadReplyAsync()).Error);

        Server.Disk.FailWith = () => new IOException("device gone");
        await _client.SendRequestAsync(0, Write, 2, 1024 * 1024, 512, Pattern(512, 1));
        Assert.Equal(Eio, (await _client.ReadReplyAsync()).Error);
        await AssertUsableAsync();
    }

    [Fact]
    public async Task Shutdown_from_the_export_is_answered_eshutdown_and_the_connection_ends()
    {
        Server.Disk.FailWritesFrom = 0;
        Server.Disk.FailWith = () => new NbdExportException(NbdError.Shutdown, "export removed");
        await _client.SendRequestAsync(0, Write, 1, 0, 512, Pattern(512, 1));
        Assert.Equal(108u, (await _client.ReadReplyAsync()).Error);
        Assert.True(await _client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Disc_closes_the_connection_without_a_reply()
    {
        await _client.SendRequestAsync(0, Disc, 1, 0, 0);
        Assert.True(await _client.IsClosedByServerAsync());
        await WaitUntilAsync(() => Server.Server.ConnectionCount == 0);
    }

    private async Task AssertUsableAsync()
    {
        var data = Pattern(777, 42);
        await _client.SendRequestAsync(0, Write, 100, 4096, (uint)data.Length, data);
        Assert.Equal(0u, (await _client.ReadReplyAsync()).Error);
        await _client.SendRequestAsync(0, Read, 101, 4096, (uint)data.Length);
        var read = await _client.ReadReplyAsync(data.Length);
        Assert.Equal((0u, 101ul), (read.Error, read.Cookie));
        Assert.Equal(data, read.Data);
    }

    internal static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}

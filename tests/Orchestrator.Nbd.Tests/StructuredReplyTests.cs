using System.Buffers.Binary;
using System.Text;

namespace Orchestrator.Nbd.Tests;

/// <summary>NBD_OPT_STRUCTURED_REPLY, the base:allocation context and NBD_CMD_BLOCK_STATUS, byte by byte.</summary>
public sealed class StructuredReplyTests : ServerTestBase
{
    private const ushort Read = 0;
    private const ushort Write = 1;
    private const ushort Trim = 4;
    private const ushort BlockStatus = 7;
    private const ushort ReqOne = 1 << 3;
    private const uint Einval = 22;

    [Fact]
    public async Task A_read_answers_with_one_offset_data_chunk_and_an_error_with_an_error_chunk_naming_it()
    {
        var data = TransmissionTests.Pattern(5000, 1);
        Server.Disk.Write(1000, data);
        await using var client = await Server.ConnectAsync();
        await client.StructuredGoAsync("disk1", allocation: false);

        await client.SendRequestAsync(0, Read, cookie: 9, 1000, 5000);
        var chunk = await client.ReadChunkAsync();
        Assert.Equal((1, RawNbdClient.Chunk.TypeOffsetData, 9ul), (chunk.Flags, chunk.Type, chunk.Cookie));
        Assert.Equal(1000ul, BinaryPrimitives.ReadUInt64BigEndian(chunk.Payload));
        Assert.Equal(data, chunk.Payload[8..]);

        await client.SendRequestAsync(0, Read, cookie: 10, ServerUnderTest.DiskSize - 10, 20);
        var error = await client.ReadChunkAsync();
        Assert.Equal((RawNbdClient.Chunk.TypeError, Einval), (error.Type, error.Error));
        Assert.Contains("outside the export", error.Message, StringComparison.Ordinal);

        // Block status was not negotiated on this connection.
        await client.SendRequestAsync(0, BlockStatus, cookie: 11, 0, 4096);
        Assert.Equal(Einval, (await client.ReadChunkAsync()).Error);
    }

    [Fact]
    public async Task Block_status_reports_data_and_holes_and_req_one_gives_a_single_extent()
    {
        Server.Disk.Write(8192, TransmissionTests.Pattern(8192, 2));
        await using var client = await Server.ConnectAsync();
        await client.StructuredGoAsync("disk1");

        await client.SendRequestAsync(0, BlockStatus, cookie: 1, 0, 65536);
        var status = await client.ReadChunkAsync();
        Assert.Equal((RawNbdClient.Chunk.TypeBlockStatus, 1), (status.Type, status.Flags & 1));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(status.Payload));
        Assert.Equal([(8192u, 3u), (8192u, 0u), (49152u, 3u)], status.Extents());

        await client.SendRequestAsync(ReqOne, BlockStatus, cookie: 2, 0, 65536);
        Assert.Equal([(8192u, 3u)], (await client.ReadChunkAsync()).Extents());
    }

    [Fact]
    public async Task Hostile_block_status_and_trim_are_refused_or_served_and_the_connection_goes_on()
    {
        await using var client = await Server.ConnectAsync();
        await client.StructuredGoAsync("disk1");
        (ulong Offset, uint Length)[] pastTheEnd = [(ServerUnderTest.DiskSize, 1), (ServerUnderTest.DiskSize - 1, 2), (ulong.MaxValue - 1, 4), (0, 0)];
        foreach (var (offset, length) in pastTheEnd)
        {
            await client.SendRequestAsync(0, BlockStatus, cookie: offset, offset, length);
            Assert.Equal(Einval, (await client.ReadChunkAsync()).Error);
        }

        // Trims on unaligned ranges are advisory: accepted, nothing breaks.
        await client.SendRequestAsync(0, Trim, cookie: 5, 1, 4095);
        Assert.Equal(RawNbdClient.Chunk.TypeNone, (await client.ReadChunkAsync()).Type);
        await client.SendRequestAsync(0, Trim, cookie: 6, ServerUnderTest.DiskSize - 3, 3);
        Assert.Equal(RawNbdClient.Chunk.TypeNone, (await client.ReadChunkAsync()).Type);
        await client.SendRequestAsync(0, Trim, cookie: 7, ServerUnderTest.DiskSize - 3, 4);
        Assert.Equal(Einval, (await client.ReadChunkAsync()).Error);

        await client.SendRequestAsync(0, Write, cookie: 8, 0, 3, [1, 2, 3]);
        Assert.Equal(RawNbdClient.Chunk.TypeNone, (await client.ReadChunkAsync()).Type);
    }

    [Fact]
    public async Task List_meta_context_names_base_allocation_and_set_needs_structured_replies_first()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(9, RawNbdClient.MetaContextData("disk1"));
        var listed = await client.ReadOptionReplyAsync();
        Assert.Equal((4u, "base:allocation"), (listed.Type, Encoding.UTF8.GetString(listed.Data, 4, listed.Data.Length - 4)));
        Assert.Equal(RawNbdClient.RepAck, (await client.ReadOptionReplyAsync()).Type);

        await client.SendOptionAsync(10, RawNbdClient.MetaContextData("disk1", "base:allocation"));
        Assert.Equal(RawNbdClient.ErrInvalid, (await client.ReadOptionReplyAsync()).Type);

        await client.SendOptionAsync(9, RawNbdClient.MetaContextData("nosuch"));
        Assert.Equal(RawNbdClient.ErrUnknown, (await client.ReadOptionReplyAsync()).Type);

        // Lengths that run past the data.
        await client.SendOptionAsync(9, [0, 0, 0, 5, (byte)'d', 0, 0, 0, 1]);
        Assert.Equal(RawNbdClient.ErrInvalid, (await client.ReadOptionReplyAsync()).Type);

        await client.GoAsyncAfterHandshake("disk1");
    }
}

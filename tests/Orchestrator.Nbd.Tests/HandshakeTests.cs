using System.Buffers.Binary;
using System.Text;
using static Orchestrator.Nbd.Tests.RawNbdClient;

namespace Orchestrator.Nbd.Tests;

/// <summary>The fixed-newstyle handshake, option by option, as doc/proto.md describes it.</summary>
public sealed class HandshakeTests : ServerTestBase
{
    private const uint OptExportName = 1;
    private const uint OptAbort = 2;
    private const uint OptList = 3;
    private const uint OptStartTls = 5;
    private const uint OptInfo = 6;
    private const uint OptGo = 7;
    private const uint OptStructuredReply = 8;
    private const ushort InfoExport = 0;
    private const ushort InfoName = 1;
    private const ushort InfoBlockSize = 3;
    // HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES, CAN_MULTI_CONN, SEND_FAST_ZERO.
    private const ushort AdvertisedFlags = 0x01 | 0x04 | 0x08 | 0x20 | 0x40 | 0x100 | 0x800;
    [Fact]
    public async Task Greeting_is_nbdmagic_ihaveopt_and_fixed_newstyle_with_no_zeroes()
    {
        await using var client = await Server.ConnectAsync();
        var (magic, optionMagic, flags) = await client.ReadGreetingAsync();
        Assert.Equal(NbdMagic, magic);
        Assert.Equal(OptionMagic, optionMagic);
        Assert.Equal(3, flags);
    }

    [Fact]
    public async Task Unknown_client_flags_end_the_handshake()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync(clientFlags: 0x7);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task List_names_every_export_then_acknowledges()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(OptList);
        var replies = await client.ReadOptionRepliesAsync();
        Assert.Equal([RepServer, RepServer, RepAck], replies.Select(r => r.Type));
        Assert.All(replies, r => Assert.Equal(OptList, r.Option));
        var names = replies.Take(2).Select(r => Encoding.UTF8.GetString(r.Data, 4, (int)BinaryPrimitives.ReadUInt32BigEndian(r.Data))).ToList();
        Assert.Equal(["disk1", "other"], names);
    }

    [Fact]
    public async Task List_with_data_is_invalid_and_the_handshake_goes_on()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(OptList, [1, 2, 3]);
        var reply = await client.ReadOptionReplyAsync();
        Assert.Equal(ErrInvalid, reply.Type);
        Assert.Contains("takes no data", reply.Text, StringComparison.Ordinal);

        await client.SendOptionAsync(OptList);
        Assert.Equal(RepAck, (await client.ReadOptionRepliesAsync())[^1].Type);
    }

    [Fact]
    public async Task Info_sends_size_flags_block_sizes_and_the_name_when_asked_and_stays_in_the_handshake()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(OptInfo, InfoData("disk1", InfoName, InfoBlockSize));
        var replies = await client.ReadOptionRepliesAsync();
        Assert.Equal(RepAck, replies[^1].Type);

        var infos = replies.Where(r => r.Type == RepInfo).ToDictionary(r => BinaryPrimitives.ReadUInt16BigEndian(r.Data), r => r.Data);
        var export = infos[InfoExport];
        Assert.Equal(ServerUnderTest.DiskSize, BinaryPrimitives.ReadInt64BigEndian(export.AsSpan(2)));
        Assert.Equal(AdvertisedFlags, BinaryPrimitives.ReadUInt16BigEndian(export.AsSpan(10)));
        var sizes = infos[InfoBlockSize];
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(sizes.AsSpan(2)));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(sizes.AsSpan(6)));
        Assert.Equal(32u * 1024 * 1024, BinaryPrimitives.ReadUInt32BigEndian(sizes.AsSpan(10)));
        Assert.Equal("disk1", Encoding.UTF8.GetString(infos[InfoName].AsSpan(2)));

        // Still negotiating: another option is answered.
        await client.SendOptionAsync(OptInfo, InfoData("other"));
        Assert.Equal(RepAck, (await client.ReadOptionRepliesAsync())[^1].Type);
    }

    [Fact]
    public async Task Go_to_an_unknown_export_is_refused_naming_it_and_a_known_one_then_works()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(OptGo, InfoData("nosuch"));
        var refused = await client.ReadOptionReplyAsync();
        Assert.Equal(ErrUnknown, refused.Type);
        Assert.Contains("'nosuch'", refused.Text, StringComparison.Ordinal);

        await client.SendOptionAsync(OptGo, InfoData("disk1"));
        Assert.Equal(RepAck, (await client.ReadOptionRepliesAsync())[^1].Type);
        await client.SendRequestAsync(0, 3, cookie: 1, 0, 0);
        Assert.Equal(0u, (await client.ReadReplyAsync()).Error);
    }

    [Theory]
    [InlineData(OptStartTls)]
    [InlineData(11u)]
    [InlineData(4242u)]
    public async Task Unsupported_options_get_err_unsup_and_the_handshake_goes_on(uint option)
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(option, [0, 0, 0, 0]);
        var reply = await client.ReadOptionReplyAsync();
        Assert.Equal(ErrUnsup, reply.Type);
        Assert.Equal(option, reply.Option);

        await client.SendOptionAsync(OptGo, InfoData("disk1"));
        Assert.Equal(RepAck, (await client.ReadOptionRepliesAsync())[^1].Type);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 9, (byte)'d', 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 1, (byte)'d', 0, 5, 0, 1 })]
    [InlineData(new byte[] { 0, 0, 0, 1, 0xff, 0, 0 })]
    public async Task Malformed_info_data_is_invalid_and_the_handshake_goes_on(byte[] data)
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(OptInfo, data);
        Assert.Equal(ErrInvalid, (await client.ReadOptionReplyAsync()).Type);

        await client.SendOptionAsync(OptList);
        Assert.Equal(RepAck, (await client.ReadOptionRepliesAsync())[^1].Type);
    }

    [Fact]
    public async Task Abort_is_acknowledged_and_the_server_hangs_up()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(OptAbort);
        Assert.Equal(RepAck, (await client.ReadOptionReplyAsync()).Type);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Theory]
    [InlineData(3u, 10)]
    [InlineData(1u, 134)]
    public async Task Export_name_answers_size_and_flags_with_zero_padding_unless_no_zeroes(uint clientFlags, int replyLength)
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync(clientFlags);
        await client.SendOptionAsync(OptExportName, Encoding.UTF8.GetBytes("other"));
        var reply = await client.ReadAsync(replyLength);
        Assert.Equal(1024 * 1024, BinaryPrimitives.ReadInt64BigEndian(reply));
        Assert.Equal(AdvertisedFlags, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(8)));
        Assert.All(reply.Skip(10), b => Assert.Equal(0, b));

        // In transmission right away.
        await client.SendRequestAsync(0, 3, cookie: 7, 0, 0);
        Assert.Equal(7ul, (await client.ReadReplyAsync()).Cookie);
    }

    [Fact]
    public async Task Export_name_of_an_unknown_export_ends_the_connection()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(OptExportName, Encoding.UTF8.GetBytes("nosuch"));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task A_client_without_fixed_newstyle_may_only_send_export_name()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync(clientFlags: 0);
        await client.SendOptionAsync(OptList);
        Assert.True(await client.IsClosedByServerAsync());
    }
}

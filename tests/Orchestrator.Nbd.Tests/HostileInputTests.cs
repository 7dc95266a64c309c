using System.Net.Sockets;

namespace Orchestrator.Nbd.Tests;

/// <summary>
/// What a broken or hostile client can send: each case ends that connection cleanly, and a well-behaved client
/// connected at the same time (and one connecting afterwards) is served as if nothing happened.
/// </summary>
public sealed class HostileInputTests : ServerTestBase
{
    private RawNbdClient _bystander = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _bystander = await Server.ConnectAsync();
        await _bystander.GoAsync("disk1");
    }

    public override async Task DisposeAsync()
    {
        await _bystander.DisposeAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task Bad_option_magic_closes_the_connection()
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(0x1122334455667788, 7, 0, null);
        Assert.True(await client.IsClosedByServerAsync());
        await AssertOthersServedAsync();
    }

    [Theory]
    [InlineData(64u * 1024 + 1)]
    [InlineData(uint.MaxValue)]
    public async Task A_huge_option_length_is_answered_too_big_and_the_connection_closed(uint claimed)
    {
        await using var client = await Server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendOptionAsync(RawNbdClient.OptionMagic, 7, claimed, [1, 2, 3]);
        var reply = await client.ReadOptionReplyAsync();
        Assert.Equal(RawNbdClient.ErrTooBig, reply.Type);
        Assert.True(await client.IsClosedByServerAsync());
        await AssertOthersServedAsync();
    }

    [Fact]
    public async Task Bad_request_magic_closes_the_connection()
    {
        await using var client = await Server.ConnectAsync();
        await client.GoAsync("disk1");
        await client.SendRequestAsync(0, 0, 1, 0, 512, magic: 0xdeadbeef);
        Assert.True(await client.IsClosedByServerAsync());
        await AssertOthersServedAsync();
    }

    [Fact]
    public async Task A_client_that_vanishes_mid_request_or_mid_option_is_forgotten()
    {
        await using (var client = await Server.ConnectAsync())
        {
            await client.GoAsync("disk1");
            await client.SendRequestAsync(0, 1, 1, 0, 65536, new byte[100]);
        }

        await using (var client = await Server.ConnectAsync())
        {
            await client.HandshakeAsync();
            await client.SendOptionAsync(RawNbdClient.OptionMagic, 7, 4000, new byte[10]);
        }

        await TransmissionTests.WaitUntilAsync(() => Server.Server.ConnectionCount == 1);
        await AssertOthersServedAsync();
    }

    [Fact]
    public async Task Seeded_garbage_in_either_phase_never_hurts_the_server()
    {
        var seed = Orchestrator.Testing.RandomChainBuilder.ChooseSeed();
        var rng = new Random(seed);
        for (var i = 0; i < 40; i++)
        {
            await using var client = await Server.ConnectAsync();
            var garbage = new byte[rng.Next(1, 2000)];
            rng.NextBytes(garbage);
            try
            {
                if (i % 2 == 1)
                {
                    await client.GoAsync("disk1");
                }
                else
                {
                    await client.ReadGreetingAsync();
                }

                await client.SendRawAsync(garbage);
                client.EndSending();
                await client.IsClosedByServerAsync();
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                // The server hung up while we were still sending: that is one of the accepted outcomes.
            }
        }

        await TransmissionTests.WaitUntilAsync(() => Server.Server.ConnectionCount == 1);
        await AssertOthersServedAsync($"seed {seed}");
    }

    private async Task AssertOthersServedAsync(string context = "")
    {
        var data = TransmissionTests.Pattern(4096, 77);
        await _bystander.SendRequestAsync(0, 1, 1, 8192, (uint)data.Length, data);
        Assert.Equal(0u, (await _bystander.ReadReplyAsync()).Error);
        await _bystander.SendRequestAsync(0, 0, 2, 8192, (uint)data.Length);
        var read = await _bystander.ReadReplyAsync(data.Length);
        Assert.True(data.AsSpan().SequenceEqual(read.Data), context);

        await using var fresh = await Server.ConnectAsync();
        await fresh.GoAsync("other");
    }
}

using System.Text;
using Orchestrator.Cli.Commands.Client;

namespace Orchestrator.Node.Tests;

public sealed class SseReaderTests
{
    [Fact]
    public async Task Events_are_split_on_blank_lines_and_comments_are_skipped()
    {
        const string text = ": keep-alive\n\nid: 7\nevent: JOB_STATUS_CHANGE\ndata: {\"a\":1}\n\nid:8\nevent:BLOCK_JOB_COMPLETED\ndata: x\ndata: y\n\n";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var messages = new List<SseMessage>();
        await foreach (var m in SseReader.ReadAsync(stream, CancellationToken.None))
        {
            messages.Add(m);
        }

        Assert.Equal([new SseMessage("7", "JOB_STATUS_CHANGE", "{\"a\":1}"), new SseMessage("8", "BLOCK_JOB_COMPLETED", "x\ny")], messages);
    }
}

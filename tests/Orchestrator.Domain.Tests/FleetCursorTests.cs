using Orchestrator.Domain.Fleet;

namespace Orchestrator.Domain.Tests;

/// <summary>The fleet events' SSE id: a per-host position, written and read back, refusing what is not one.</summary>
public sealed class FleetCursorTests
{
    [Fact]
    public void A_cursor_advances_per_host_and_reads_back_what_it_writes()
    {
        var cursor = FleetCursor.Start.With("n2", 40).With("n1", 12).With("n2", 41);
        Assert.Equal("n1:12,n2:41", cursor.ToString());
        var read = FleetCursor.Parse(cursor.ToString(), out var problem);
        Assert.Null(problem);
        Assert.Equal((12, 41, 0), (read!.After("n1"), read.After("n2"), read.After("n3")));
        Assert.Equal(41, cursor.With("n2", 7).After("n2"));
        Assert.Empty(FleetCursor.Parse("", out _)!.Seen);
    }

    [Theory]
    [InlineData("n1")]
    [InlineData("n1:x")]
    [InlineData("n1:-1")]
    [InlineData(":5")]
    [InlineData("n1:1,n1:2")]
    [InlineData("n\u00071:3")]
    public void Anything_else_is_refused_naming_the_part(string text)
    {
        Assert.Null(FleetCursor.Parse(text, out var problem));
        Assert.Contains("HOST:SEQUENCE", problem, StringComparison.Ordinal);
    }
}

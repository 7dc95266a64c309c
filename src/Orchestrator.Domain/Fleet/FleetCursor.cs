using System.Globalization;

namespace Orchestrator.Domain.Fleet;

/// <summary>
/// Where a reader of the fleet's events is in each host's event log: host to the last sequence number seen. Written
/// as <c>n1:12,n2:40</c> (hosts in order), which is each fleet event's SSE id, so a client that reconnects with
/// Last-Event-ID resumes every host right after what it saw: no gap, no duplicate. Pure.
/// </summary>
public sealed record FleetCursor(IReadOnlyDictionary<string, long> Seen)
{
    public static readonly FleetCursor Start = new(new Dictionary<string, long>());

    /// <summary>The last sequence seen of <paramref name="host"/>'s log; 0 when none.</summary>
    public long After(string host) => Seen.GetValueOrDefault(host);

    /// <summary>The cursor once <paramref name="host"/>'s event <paramref name="sequence"/> is seen.</summary>
    public FleetCursor With(string host, long sequence) =>
        new(new Dictionary<string, long>(Seen, StringComparer.Ordinal) { [host] = Math.Max(sequence, After(host)) });

    public override string ToString() =>
        string.Join(',', Seen.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}:{kv.Value}")));

    /// <summary>Reads <c>host:seq,...</c> (empty: the start); null with <paramref name="problem"/> when it is not one.</summary>
    public static FleetCursor? Parse(string text, out string? problem)
    {
        problem = null;
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0 || !long.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
                || IdRule.Problem(part[..colon], "host") is not null || !seen.TryAdd(part[..colon], sequence))
            {
                problem = $"'{IdRule.Printable(part)}' is not HOST:SEQUENCE (each host once)";
                return null;
            }
        }

        return new FleetCursor(seen);
    }
}

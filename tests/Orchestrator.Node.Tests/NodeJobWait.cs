using System.Diagnostics;
using System.Text.Json;

namespace Orchestrator.Node.Tests;

/// <summary>Polls a node's job until it is in the state a test needs.</summary>
internal static class NodeJobWait
{
    /// <summary>GET /jobs/{id} until <paramref name="condition"/> holds (60 s at the most); returns the job then.</summary>
    public static async Task<JsonElement> WaitForJobAsync(this NodeProcess node, string id, Func<JsonElement, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var response = await node.Http.GetAsync($"jobs/{id}");
            if (response.IsSuccessStatusCode && await Json.BodyAsync(response) is var job && condition(job))
            {
                return job;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"job '{id}' did not reach the expected state within 60 s\n{node.Output}");
    }
}

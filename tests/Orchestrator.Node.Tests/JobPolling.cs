using System.Diagnostics;
using System.Text.Json;

namespace Orchestrator.Node.Tests;

/// <summary>Polls GET /jobs/{id} until the job reaches a status.</summary>
internal static class JobPolling
{
    public static async Task<JsonElement> WaitForStatusAsync(NodeProcess node, string job, string status, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await node.Http.GetAsync($"jobs/{job}");
            var body = await Json.BodyAsync(response);
            if (body.TryGetProperty("status", out var current) && current.GetString() == status)
            {
                return body;
            }

            Assert.True(clock.Elapsed < timeout, $"job {job} did not reach {status} within {timeout.TotalSeconds} s: {body}");
            await Task.Delay(100);
        }
    }
}

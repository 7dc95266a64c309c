using System.Net;
using System.Text.Json;

namespace Orchestrator.Node.Tests.Browser;

/// <summary>
/// The dashboard in Debian's headless Chromium against a real node: sign in with the token, see the disk, watch a
/// stream's progress bar advance, click pause and check through the API that the job paused, then resume, set speed
/// and cancel the same way. The screenshot (of the paused job) is kept (artifacts/tests/dashboard.png) for a person to
/// look at.
/// </summary>
public sealed class DashboardBrowserTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task Dashboard_lists_the_disk_shows_progress_and_pauses_the_job()
    {
        var (@base, top) = SlowChain.Create(Node.StorageRoot, "dash");
        (await Node.CliAsync("disk", "add", "dash", top)).EnsureSuccess();
        (await Node.CliAsync("stream", "dash", "--base", Path.GetFileName(@base), "--speed", "1M")).EnsureSuccess();

        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync(Node.Url);
        await browser.EvaluateAsync($"document.getElementById('token').value = {JsonSerializer.Serialize(Node.Token)}; "
            + "document.getElementById('signin-form').requestSubmit(); true");

        await browser.WaitForAsync("document.querySelector('[data-disk=\"dash\"]')", TimeSpan.FromSeconds(20));
        var chain = (await browser.EvaluateAsync("document.querySelector('[data-disk=\"dash\"] .chain').textContent")).GetString();
        Assert.Equal("[dash-base.qcow2] -> [dash-mid.qcow2] -> [dash-top.qcow2]", chain);

        const string progress = "document.querySelector('tr[data-job=\"dash\"] progress')";
        await browser.WaitForAsync(progress, TimeSpan.FromSeconds(20));
        var first = (await browser.EvaluateAsync($"{progress}.value")).GetDouble();
        await browser.WaitForAsync($"{progress}.value > {first}", TimeSpan.FromSeconds(20));

        await browser.EvaluateAsync("document.querySelector('tr[data-job=\"dash\"] button[data-action=\"pause\"]').click(); true");
        await browser.WaitForAsync("document.querySelector('tr[data-job=\"dash\"]')?.dataset.status === 'paused'", TimeSpan.FromSeconds(20));
        var job = await Json.BodyAsync(await Node.Http.GetAsync("/jobs/dash"));
        Assert.True(job.GetProperty("paused").GetBoolean(), $"the API does not show the job paused: {job}");

        var screenshot = TestArtifacts.PathFor("dashboard.png");
        await browser.ScreenshotAsync(screenshot);
        Assert.True(new FileInfo(screenshot).Length > 1000, $"the screenshot {screenshot} is empty");
        Assert.Equal<byte>([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a], File.ReadAllBytes(screenshot)[..8]);
        Console.WriteLine($"dashboard screenshot: {screenshot}");

        // The other buttons, each checked through the API: resume, set speed (the page asks with prompt(), answered
        // here as a person would type it), cancel (the job is auto-dismissed and the chain is untouched).
        await ClickAsync(browser, "resume");
        await Node.WaitForJobAsync("dash", j => !j.GetProperty("paused").GetBoolean() && j.GetProperty("status").GetString() == "running");

        await browser.EvaluateAsync("window.prompt = () => '2097152'; true");
        await ClickAsync(browser, "set speed");
        await Node.WaitForJobAsync("dash", j => j.GetProperty("speed").GetInt64() == 2 * 1024 * 1024);
        await browser.WaitForAsync("document.querySelector('tr[data-job=\"dash\"]')?.cells[5].textContent === '2.0 MiB/s'", TimeSpan.FromSeconds(20));

        await ClickAsync(browser, "cancel");
        await browser.WaitForAsync("!document.querySelector('tr[data-job=\"dash\"]')", TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.NotFound, (await Node.Http.GetAsync("/jobs/dash")).StatusCode);
        var disk = await Json.BodyAsync(await Node.Http.GetAsync("/disks/dash"));
        Assert.Equal(3, disk.GetProperty("chain").GetArrayLength());
    }

    private static Task ClickAsync(HeadlessChromium browser, string action) =>
        browser.EvaluateAsync($"document.querySelector('tr[data-job=\"dash\"] button[data-action=\"{action}\"]').click(); true");
}

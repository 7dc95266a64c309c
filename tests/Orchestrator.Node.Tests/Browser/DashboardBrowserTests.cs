using System.Text.Json;

namespace Orchestrator.Node.Tests.Browser;

/// <summary>
/// The dashboard in Debian's headless Chromium against a real node: sign in with the token, see the disk, watch a
/// stream's progress bar advance, click pause and check through the API that the job paused. The screenshot is kept
/// (artifacts/tests/dashboard.png) for a person to look at.
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
        Console.WriteLine($"dashboard screenshot: {screenshot}");

        (await Node.CliAsync("job", "cancel", "dash")).EnsureSuccess();
    }
}

using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Node.Dashboard;

/// <summary>
/// The dashboard at '/': one HTML page, a script and a style sheet, embedded in the assembly (no build step, no files to
/// deploy). They are public: the page holds no data and asks for the token, which every API call then carries.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly (string Path, string Resource, string ContentType)[] _files =
    [
        ("/", "dashboard/index.html", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/style.css", "dashboard/style.css", "text/css; charset=utf-8"),
    ];

    /// <summary>The URL paths of the dashboard's files: served without the token.</summary>
    public static IReadOnlyList<string> StaticPaths { get; } = _files.Select(f => f.Path).ToList();

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, contentType) in _files)
        {
            var content = Read(resource);
            app.MapGet(path, () => Results.Bytes(content, contentType)).ExcludeFromDescription();
        }

        return app;
    }

    private static byte[] Read(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the dashboard file '{resource}' is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

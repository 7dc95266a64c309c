using System.Net.Http.Json;
using System.Text.Json;

namespace Orchestrator.Node.Tests;

/// <summary>Small JSON helpers for asserting on API bodies and CLI output.</summary>
internal static class Json
{
    public static JsonElement Parse(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => Parse(await response.Content.ReadAsStringAsync());

    public static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string rawJson) =>
        http.PostAsync(path, new StringContent(rawJson, System.Text.Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, object body) => http.PostAsJsonAsync(path, body);

    /// <summary>Asserts the API's error shape and returns (code, message).</summary>
    public static async Task<(string Code, string Message)> ErrorAsync(HttpResponseMessage response)
    {
        var body = await BodyAsync(response);
        var error = body.GetProperty("error");
        return (error.GetProperty("code").GetString()!, error.GetProperty("message").GetString()!);
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>The node's HTTP API for the client verbs: JSON in and out, the API's error message as a <see cref="ClientException"/>.</summary>
public sealed class NodeClient : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private static readonly TimeSpan _requestTimeout = TimeSpan.FromMinutes(2);
    private readonly HttpClient _http;

    public NodeClient(NodeConnection connection)
    {
        Server = connection.Server.GetLeftPart(UriPartial.Authority);

        // No client-wide timeout: GET /events stays open; each plain request gets its own below.
        _http = new HttpClient { BaseAddress = connection.Server, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", connection.Token);
    }

    /// <summary>The node's URL as users typed it, for messages.</summary>
    public string Server { get; }

    public static string Segment(string value) => Uri.EscapeDataString(value);

    public async Task<T> GetAsync<T>(string path, CancellationToken cancel) => (await SendAsync<T>(HttpMethod.Get, path, null, cancel)).Value;

    public async Task<ApiResponse<T>> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancel)
    {
        using var response = await SendCheckedAsync(method, path, body, cancel);
        T? value;
        try
        {
            value = await response.Content.ReadFromJsonAsync<T>(Json, cancel);
        }
        catch (JsonException e)
        {
            throw new ClientException($"the node at {Server} answered {method} /{path.TrimStart('/')} with a body this client does not understand ({e.Message})");
        }

        return value is null
            ? throw new ClientException($"the node at {Server} answered {method} /{path.TrimStart('/')} with an empty body")
            : new ApiResponse<T>(value, response.Headers);
    }

    /// <summary>Like <see cref="SendAsync{T}"/>, for endpoints that may answer 204 No Content (then null).</summary>
    public async Task<JsonElement?> SendOptionalAsync(HttpMethod method, string path, object? body, CancellationToken cancel)
    {
        using var response = await SendCheckedAsync(method, path, body, cancel);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return null;
        }

        return await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancel);
    }

    /// <summary>GET /events as Server-Sent Events after <paramref name="after"/>; ends when the node closes the stream.</summary>
    public IAsyncEnumerable<SseMessage> EventsAsync(long after, bool follow, CancellationToken cancel) =>
        EventsAsync("events", after.ToString(CultureInfo.InvariantCulture), follow, cancel);

    /// <summary>Every host's events (GET /fleet/events), after the fleet cursor <paramref name="after"/> (host:sequence,...).</summary>
    public IAsyncEnumerable<SseMessage> FleetEventsAsync(string after, bool follow, CancellationToken cancel) =>
        EventsAsync("fleet/events", after, follow, cancel);

    private async IAsyncEnumerable<SseMessage> EventsAsync(string path, string after, bool follow, [EnumeratorCancellation] CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, follow ? path : path + "?follow=false");
        if (after.Length > 0)
        {
            request.Headers.Add("Last-Event-ID", after);
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel, cancel);
        await EnsureSuccessAsync(response, cancel);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel);
        await foreach (var message in SseReader.ReadAsync(stream, cancel))
        {
            yield return message;
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// One request with a JSON body (if any) under the request timeout, its whole response read; an error answer
    /// becomes a <see cref="ClientException"/>.
    /// </summary>
    private async Task<HttpResponseMessage> SendCheckedAsync(HttpMethod method, string path, object? body, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(_requestTimeout);
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token, cancel);
        try
        {
            await EnsureSuccessAsync(response, cancel);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken token, CancellationToken userCancel)
    {
        try
        {
            return await _http.SendAsync(request, completion, token);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException) when (!userCancel.IsCancellationRequested)
        {
            throw new ClientException($"the orchestrator node at {Server} did not answer within {_requestTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>Connection failures in the words users expect.</summary>
    public ClientException Unreachable(HttpRequestException e) => e.HttpRequestError == HttpRequestError.ConnectionError
        ? new ClientException($"cannot reach the orchestrator node at {Server}: is `orchestrator serve` running?")
        : new ClientException($"cannot talk to the orchestrator node at {Server}: {e.Message}");

    private async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancel);
        ErrorResponse? error = null;
        try
        {
            error = JsonSerializer.Deserialize<ErrorResponse>(text, Json);
        }
        catch (JsonException)
        {
            // Not our error body (a proxy, or a route that is not the API's); reported as is below.
        }

        if (error?.Error is { } detail)
        {
            throw new ClientException(detail.Message);
        }

        var firstLine = text.Split('\n', 2)[0].Trim();
        throw new ClientException($"the node at {Server} answered {(int)response.StatusCode} {ReasonOf(response.StatusCode)}"
            + (firstLine.Length > 0 ? $": {firstLine}" : string.Empty));
    }

    private static string ReasonOf(HttpStatusCode status) => status.ToString();
}

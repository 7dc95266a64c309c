namespace Orchestrator.Node.Api;

/// <summary>
/// Endpoint metadata naming the JSON body an endpoint reads itself (through <see cref="JsonBody"/>). Used instead of
/// <c>Accepts&lt;T&gt;</c>, which would also make routing refuse a request without the JSON content type before our
/// handler could answer with a useful error.
/// </summary>
public sealed record JsonRequestBody(Type Type);

using Microsoft.AspNetCore.Http;
using Orchestrator.Domain;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>Checks of request values that need no engine: ids, speeds, on-error policies, paths inside the storage roots.</summary>
public static class RequestChecks
{
    /// <summary>The domain's one id rule (<see cref="IdRule"/>), the same the actors apply.</summary>
    public static string Id(string? value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw ApiException.MissingField(field);
        }

        return IdRule.Problem(value, field) is { } problem ? throw ApiException.InvalidParameter(problem) : value;
    }

    public static string? OptionalId(string? value, string field) => value is null ? null : Id(value, field);

    public static long Speed(long? value, string field = "speed")
    {
        if (value is < 0)
        {
            // QEMU's wording for a negative speed.
            throw ApiException.InvalidParameter($"Invalid parameter '{field}': must be 0 (unlimited) or a positive number of bytes per second");
        }

        return value ?? 0;
    }

    public static OnErrorPolicy OnError(string? value)
    {
        if (value is null)
        {
            return OnErrorPolicy.Report;
        }

        return QemuNames.TryParse(value, out var policy)
            ? policy
            : throw ApiException.InvalidParameter($"Parameter 'onError' does not accept value '{value}' (report, ignore, stop, enospc)");
    }

    public static string RequiredString(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw ApiException.MissingField(field) : value;

    /// <summary>The canonical path of an image the API may touch; 403 outside the storage roots.</summary>
    public static string InsideStorageRoots(string? path, string field, IReadOnlyList<string> roots)
    {
        var value = RequiredString(path, field);
        try
        {
            return StoragePolicy.Resolve(value, roots);
        }
        catch (StorageRootException e)
        {
            throw new ApiException(StatusCodes.Status403Forbidden, ErrorCodes.OutsideStorageRoot, e.Message);
        }
    }
}

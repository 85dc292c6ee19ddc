using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Parca.Ingest;
using Parca.Pprof;
using Parca.Scrape.Config;

namespace Parca.Scrape;

/// <summary>Scrapes one target every interval, starting at the target's stable offset inside the interval.</summary>
internal sealed class ScrapeLoop : IAsyncDisposable
{
    private readonly ScrapeTarget _target;
    private readonly ScrapeConfig _job;
    private readonly HttpClient _client;
    private readonly IProfileWriter _writer;
    private readonly ScrapeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _maxBytes;
    private readonly CancellationTokenSource _stop = new();
    private readonly FlatProfile _flat = new(); // reused: one scrape at a time per loop
    private readonly PprofReadOptions _readOptions;
    private readonly KeyValuePair<string, object?>[] _tags;
    private Task _run = Task.CompletedTask;

    public ScrapeLoop(ScrapeTarget target, ScrapeConfig job, HttpClient client, IProfileWriter writer, ScrapeMetrics metrics, ILogger logger, int maxBytes, IngestLimits? limits = null)
    {
        _target = target;
        _job = job;
        _client = client;
        _writer = writer;
        _metrics = metrics;
        _logger = logger;
        // body_size_limit bounds what is read from the target; the inflated profile has the same budget as one write
        // request, and is reserved from the server-wide in-flight budget that gRPC and /ingest share.
        _maxBytes = job.BodySizeLimit > 0 ? (int)Math.Min(job.BodySizeLimit, Array.MaxLength - 1) : maxBytes;
        var baseOptions = limits?.ReadOptions ?? PprofReadOptions.ParcaCompatible with
        {
            Limits = PprofLimits.Default with { MaxCompressedBytes = maxBytes, MaxDecompressedBytes = maxBytes },
        };
        _readOptions = baseOptions with
        {
            Limits = baseOptions.Limits with
            {
                MaxCompressedBytes = _maxBytes,
                MaxSamples = job.SampleLimit > 0 ? Math.Min(job.SampleLimit, baseOptions.Limits.MaxSamples) : baseOptions.Limits.MaxSamples,
            },
        };
        _tags = [new("job", job.JobName), new("profile", target.ProfileName)];
    }

    public ScrapeTarget Target => _target;

    public void Start(TimeProvider time) => _run = Task.Run(() => RunAsync(time, _stop.Token));

    private async Task RunAsync(TimeProvider time, CancellationToken stop)
    {
        try
        {
            await Task.Delay(_target.InitialDelay(_job.ScrapeInterval, time.GetUtcNow()), time, stop);
            using var timer = new PeriodicTimer(_job.ScrapeInterval, time);
            do
            {
                await ScrapeOnceAsync(stop);
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            ScrapeLog.LoopCrashed(_logger, e, _job.JobName, _target.ProfileName, _target.DisplayUrl);
        }
    }

    /// <summary>One scrape: fetch, check, write. Never throws for target or write problems: they become the health.</summary>
    internal async Task ScrapeOnceAsync(CancellationToken stop)
    {
        var start = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        using var activity = ScrapeTracing.Source.StartActivity("scrape");
        activity?.SetTag("job", _job.JobName);
        activity?.SetTag("profile", _target.ProfileName);
        activity?.SetTag("url.full", _target.DisplayUrl);
        string? error = null;
        string reason = "";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(_job.ScrapeTimeout);
        byte[]? body = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _target.Url);
            request.Headers.Authorization = ScrapeHttpClient.Authorization(_job);
            request.Headers.TryAddWithoutValidation("X-Prometheus-Scrape-Timeout-Seconds", _job.ScrapeTimeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                reason = "status";
                error = $"server returned HTTP status {(int)response.StatusCode} {response.ReasonPhrase}";
                if (response.StatusCode == HttpStatusCode.PermanentRedirect)
                {
                    error += " (the target redirects permanently: check scheme and path_prefix)";
                }
            }
            else
            {
                (body, var length) = await ReadBodyAsync(response, timeout.Token);
                if (length == 0)
                {
                    reason = "empty";
                    error = "empty profile";
                }
                else
                {
                    (reason, error) = await IngestAsync(body, length, timeout.Token);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            reason = "timeout";
            error = $"scrape timed out after {PromDuration.Format(_job.ScrapeTimeout)}";
        }
        catch (HttpRequestException e)
        {
            reason = "http";
            error = e.Message;
        }
        catch (IOException e)
        {
            reason = "http";
            error = e.Message;
        }
        finally
        {
            if (body is not null)
            {
                PprofBuffers.Return(body);
            }

            _flat.ReleaseBudget(); // the profile was written (or refused): its bytes no longer count as in flight
        }

        var elapsed = clock.Elapsed;
        var wasBad = _target.Health == TargetHealth.Bad;
        _target.Report(start, elapsed, error);
        _metrics.Duration.Record(elapsed.TotalSeconds, _tags);
        if (error is not null)
        {
            activity?.SetStatus(ActivityStatusCode.Error, error);
            _metrics.Failures.Add(1, [_tags[0], _tags[1], new("reason", reason)]);
            ScrapeLog.ScrapeFailed(_logger, _job.JobName, _target.ProfileName, _target.DisplayUrl, error);
        }
        else if (wasBad)
        {
            ScrapeLog.ScrapeRecovered(_logger, _job.JobName, _target.ProfileName, _target.DisplayUrl);
        }
    }

    private async Task<(string Reason, string? Error)> IngestAsync(byte[] body, int length, CancellationToken cancellationToken)
    {
        int sampleCount;
        List<ExecutableInfo> executables;
        ReadOnlyMemory<byte> payload = body.AsMemory(0, length);
        var filteredTypes = false;
        try
        {
            ScrapedProfile.Decode(body.AsSpan(0, length), _flat, _readOptions);
            sampleCount = _flat.SampleCount;
            executables = ScrapedProfile.ExecutableInfos(_flat);
            if (ScrapedProfile.KeepSampleTypes(_flat, _target.Profile.KeepSampleType) is { } filtered)
            {
                payload = filtered;
                filteredTypes = true;
            }
        }
        catch (PprofException e) when (e.IsLimit)
        {
            return ("limit", "refused pprof: " + IngestLimits.Describe(e).Replace("(" + ServerLimits.Flag(nameof(ServerLimits.MaxProfileSamples)) + ")", "(sample_limit or " + ServerLimits.Flag(nameof(ServerLimits.MaxProfileSamples)) + ")", StringComparison.Ordinal).Replace("(--grpc-max-message-size)", "(body_size_limit)", StringComparison.Ordinal));
        }
        catch (PprofException e)
        {
            return ("invalid", "invalid pprof: " + e.Message);
        }
        catch (InvalidDataException e)
        {
            return ("invalid", e.Message);
        }

        _metrics.Bytes.Add(length, _tags);
        _metrics.Samples.Add(sampleCount, _tags);
        try
        {
            if (!filteredTypes && _writer is IDecodedProfileWriter decodedWriter)
            {
                // Storage takes the profile as decoded here (same limits or tighter), instead of decoding it again.
                await decodedWriter.WriteDecodedAsync(_target.Labels, payload, _flat, executables, cancellationToken);
            }
            else
            {
                await _writer.WriteRawAsync(_target.Labels, payload, executables, cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return ("write", "writing the profile failed: " + e.Message);
        }

        return ("", null);
    }

    private async Task<(byte[] Body, int Length)> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var declared = response.Content.Headers.ContentLength;
        if (declared > _maxBytes)
        {
            throw new IOException($"response of {declared} bytes exceeds the body_size_limit of {_maxBytes} bytes");
        }

        var buffer = PprofBuffers.Rent((int)(declared ?? 64 * 1024) + 1);
        var length = 0;
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= _maxBytes)
                    {
                        throw new IOException($"response exceeds the body_size_limit of {_maxBytes} bytes");
                    }

                    var bigger = PprofBuffers.Rent((int)Math.Min(_maxBytes + 1L, buffer.Length * 2L));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    PprofBuffers.Return(buffer);
                    buffer = bigger;
                }

                var n = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (n == 0)
                {
                    return (buffer, length);
                }

                length += n;
            }
        }
        catch
        {
            PprofBuffers.Return(buffer);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run;
        _stop.Dispose();
        _flat.Dispose();
    }
}

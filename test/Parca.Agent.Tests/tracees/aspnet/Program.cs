using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc;

namespace Tracee.Web;

public static class Program
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddControllers();
        builder.Services.AddSingleton<PrimeService>();
        var app = builder.Build();
        app.MapControllers();
        await app.StartAsync();
        Console.WriteLine("listening " + app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
    }
}

[ApiController]
[Route("primes")]
public sealed class PrimesController(PrimeService primes) : ControllerBase
{
    [HttpGet]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public long Get(int limit) => primes.Count(limit);
}

public sealed class PrimeService
{
    /// <summary>Counts primes below limit by trial division: CPU-bound, a few milliseconds per request.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public long Count(int limit)
    {
        long count = 0;
        for (var n = 2; n < limit; n++)
        {
            var prime = true;
            for (var d = 2; d * d <= n; d++)
            {
                if (n % d == 0)
                {
                    prime = false;
                    break;
                }
            }

            if (prime)
            {
                count++;
            }
        }

        return count;
    }
}

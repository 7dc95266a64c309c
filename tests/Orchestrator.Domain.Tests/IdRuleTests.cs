using Akka.Actor;

namespace Orchestrator.Domain.Tests;

/// <summary>The one id rule for disks and jobs (QEMU's id_wellformed, at most 64 characters), shared by the API and the engine.</summary>
public sealed class IdRuleTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("a")]
    [InlineData("vm1")]
    [InlineData("Disk-01.root_2")]
    [InlineData("a-")]
    [InlineData("z.")]
    public void Well_formed_ids_pass(string id)
    {
        Assert.Null(IdRule.Problem(id, "id"));
        Assert.True(IdRule.IsValid(id));
    }

    [Theory]
    [InlineData("a\n", "U+000A", 1)] // .NET's regex '$' matches before a final newline: this once reached the journal
    [InlineData("a\r\n", "U+000D", 1)]
    [InlineData("ab\0", "U+0000", 2)]
    [InlineData("a\tb", "U+0009", 1)]
    [InlineData("a b", "U+0020", 1)]
    [InlineData("a\u007f", "U+007F", 1)]
    [InlineData("a\u0085", "U+0085", 1)] // NEL: a C1 control
    [InlineData("a\u00a0", "U+00A0", 1)] // no-break space
    [InlineData("a\u2028", "U+2028", 1)] // line separator
    public void Control_and_space_characters_are_refused_with_their_code_point_and_position(string id, string codePoint, int position)
    {
        var problem = IdRule.Problem(id, "jobId");
        Assert.NotNull(problem);
        Assert.Contains("'jobId'", problem, StringComparison.Ordinal);
        Assert.Contains(codePoint, problem, StringComparison.Ordinal);
        Assert.Contains($"position {position}", problem, StringComparison.Ordinal);
        AssertPrintable(problem);
    }

    [Theory]
    [InlineData("disqué")] // a letter, but not ASCII: QEMU refuses it too
    [InlineData("vmディスク")]
    [InlineData("a/b")]
    [InlineData("a$b")]
    [InlineData("a%0A")]
    [InlineData("a:b")]
    [InlineData("a\ud83d\ude00")] // an emoji, a surrogate pair
    [InlineData("a\ud800")] // half a surrogate pair
    public void Unicode_and_punctuation_outside_the_rule_are_refused(string id)
    {
        var problem = IdRule.Problem(id, "id");
        Assert.NotNull(problem);
        Assert.Contains("only letters, digits", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1disk")]
    [InlineData("-a")]
    [InlineData(".a")]
    [InlineData("_a")]
    [InlineData("\na")]
    [InlineData("éa")]
    public void An_id_must_start_with_an_ascii_letter(string id)
    {
        var problem = IdRule.Problem(id, "id");
        Assert.NotNull(problem);
        Assert.Contains("must start with a letter", problem, StringComparison.Ordinal);
        AssertPrintable(problem);
    }

    [Fact]
    public void Length_is_capped_at_64()
    {
        Assert.Null(IdRule.Problem(new string('a', IdRule.MaxLength), "id"));
        var problem = IdRule.Problem(new string('a', IdRule.MaxLength + 1), "id");
        Assert.NotNull(problem);
        Assert.Contains("at most 64", problem, StringComparison.Ordinal);

        // A huge id is not echoed whole into the message (nor the log).
        var huge = IdRule.Problem(new string('b', 100_000), "id");
        Assert.NotNull(huge);
        Assert.True(huge.Length < 200, huge);
    }

    [Theory]
    [InlineData("manager")]
    [InlineData("registry")]
    [InlineData("disk")]
    public void Names_the_engine_uses_for_itself_are_ordinary_disk_ids(string id) => Assert.Null(IdRule.Problem(id, "id"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Missing_or_empty_is_refused_naming_the_field(string? id)
    {
        Assert.Equal("Parameter 'diskId' is missing or empty", IdRule.Problem(id, "diskId"));
    }

    [Fact]
    public void Printable_escapes_controls_so_a_message_cannot_forge_a_log_line()
    {
        Assert.Equal("a\\u000ab", IdRule.Printable("a\nb"));
        Assert.Equal("a\\u0000", IdRule.Printable("a\0"));
        Assert.Equal("a b", IdRule.Printable("a b"));
        Assert.EndsWith("...", IdRule.Printable(new string('x', 81)), StringComparison.Ordinal);
    }

    /// <summary>Random strings: whatever the rule accepts is a valid actor name and persistence id suffix, and matches QEMU's rule.</summary>
    [Fact]
    public void Every_accepted_id_is_a_valid_actor_name_and_matches_qemus_rule()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        const string alphabet = "aZz09-._ \n\t\0/$%:é\u00a0\u2028\ud800@#+=~!'\"()[]{}*?";
        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var chars = new char[random.Next(0, 70)];
            for (var c = 0; c < chars.Length; c++)
            {
                chars[c] = alphabet[random.Next(alphabet.Length)];
            }

            var id = new string(chars);
            var valid = IdRule.IsValid(id);
            Assert.True(valid == QemuWellFormed(id), $"seed {seed}: '{IdRule.Printable(id)}' valid={valid}");
            if (valid)
            {
                accepted++;
                Assert.True(ActorPath.IsValidPathElement(id), $"seed {seed}: '{id}' is not a valid actor name");
                Assert.True(ActorPath.IsValidPathElement("disk-" + id), $"seed {seed}: 'disk-{id}' is not a valid actor name");
            }
        }

        Assert.True(accepted > 0, $"seed {seed}: no random id was well formed; the generator is broken");
    }

    /// <summary>QEMU's id_wellformed (util/id.c) with our length cap, written independently of IdRule.</summary>
    private static bool QemuWellFormed(string id) =>
        !string.Equals(id, "manager", StringComparison.OrdinalIgnoreCase)
        && id.Length is > 0 and <= IdRule.MaxLength
        && char.IsAsciiLetter(id[0])
        && id.Skip(1).All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');

    private static void AssertPrintable(string message) =>
        Assert.DoesNotContain(message, c => char.IsControl(c));
}

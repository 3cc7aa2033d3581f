package dev.carpoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.testing.kube.Helm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The repository's sources, docs, chart and scripts stand on their own: they cite no document that
 * lives outside the repository (the team's private reference notes, absolute paths of a development
 * machine), and every protocol reference ({@code docs/protocols/carp.md §2.7}) and relative
 * Markdown link leads to a file and a section that exist. Plain file reading from the repository
 * root; the files read are those git tracks (without git: the tree minus build output).
 */
class SelfContainedDocsTest {
  /** Text files worth reading, by name ending; files without one are read when they start #!. */
  private static final List<String> TEXT_ENDINGS =
      List.of(
          ".java",
          ".md",
          ".yaml",
          ".yml",
          ".sh",
          ".tpl",
          ".txt",
          ".json",
          ".xml",
          ".properties",
          ".conf",
          ".toml",
          "Containerfile",
          "Dockerfile",
          ".gitignore");

  /**
   * References to documents outside the repository. The regular expressions are written so that
   * this file does not match them itself.
   */
  private static final Map<String, Pattern> OUTSIDE =
      Map.of(
          "an absolute path on a development machine", Pattern.compile("/w[o]rk/"),
          "the shared directory beside the repository",
              Pattern.compile("\\.\\./shar[e]d\\b|\\bshar[e]d/docs\\b"),
          // plural only: "the seed" of a random run (the torture test's) is an ordinary word
          "the team's name for the example setups (name the setup instead)",
              Pattern.compile("\\bthe\\s+seeds\\b|\\bthe\\s+seed's\\b", Pattern.CASE_INSENSITIVE));

  /**
   * The team's private reference notes by file name: a mention is fine only if the repository has a
   * file of that name.
   */
  private static final Pattern NOTE_NAME =
      Pattern.compile("\\b(protocols|style|stack|landscape|real-nodes)\\.md\\b");

  /**
   * A protocol reference: {@code docs/protocols/carp.md §2.7}, also in Markdown link form ({@code
   * [protocols/carp.md](protocols/carp.md) §2.7}) and with several sections ({@code §2, §12},
   * {@code §2 and §4}, {@code §2–5}).
   */
  private static final String SECTIONS =
      "(§\\s*\\d+(?:\\.\\d+)?(?:\\s*(?:,|and|–|-)\\s*§?\\s*\\d+(?:\\.\\d+)?)*)";

  private static final Pattern PROTOCOL_REFERENCE =
      Pattern.compile("protocols/([a-z-]+\\.md)\\)?[\\s*]*" + SECTIONS);

  /** Inside docs/protocols: {@code [pfsync.md](pfsync.md) §9}. */
  private static final Pattern SIBLING_REFERENCE =
      Pattern.compile("\\]\\(([a-z-]+\\.md)\\)[\\s*]*" + SECTIONS);

  private static final Pattern SECTION_NUMBER = Pattern.compile("\\d+(?:\\.\\d+)?");
  private static final Pattern HEADING = Pattern.compile("(?m)^#{1,6}\\s+(.*?)\\s*#*\\s*$");
  private static final Pattern MARKDOWN_LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
  private static final Pattern FENCED = Pattern.compile("(?s)```.*?```");

  static Path root;
  static Map<String, String> files;

  @BeforeAll
  static void readRepository() throws IOException {
    root = Helm.repositoryRoot();
    files = new HashMap<>();
    for (String name : trackedFiles()) {
      Path p = root.resolve(name);
      if (!Files.isRegularFile(p) || !isText(name, p)) continue;
      try {
        files.put(name, Files.readString(p, StandardCharsets.UTF_8));
      } catch (MalformedInputException e) {
        // not UTF-8 text: nothing to read
      }
    }
  }

  @Test
  void nothingRefersToADocumentOutsideTheRepository() {
    Set<String> basenames = new HashSet<>();
    for (String name : files.keySet()) basenames.add(Path.of(name).getFileName().toString());
    List<String> found = new ArrayList<>();
    files.forEach(
        (name, text) -> {
          OUTSIDE.forEach(
              (what, pattern) -> {
                Matcher m = pattern.matcher(text);
                while (m.find()) found.add(where(name, text, m.start()) + ": " + what);
              });
          Matcher m = NOTE_NAME.matcher(text);
          while (m.find())
            if (!basenames.contains(m.group()))
              found.add(
                  where(name, text, m.start())
                      + ": "
                      + m.group()
                      + " is no file of this repository (bring the facts into docs/ and point there)");
        });
    assertThat(found.stream().sorted().toList())
        .as("references to documents outside the repository")
        .isEmpty();
  }

  @Test
  void protocolReferencesNameExistingSections() {
    assertThat(readIfPresent("docs/protocols/carp.md")).as("docs/protocols/carp.md").isNotNull();
    List<String> broken = new ArrayList<>();
    int checked = 0;
    for (var e : files.entrySet()) {
      List<Pattern> patterns =
          e.getKey().startsWith("docs/protocols/")
              ? List.of(PROTOCOL_REFERENCE, SIBLING_REFERENCE)
              : List.of(PROTOCOL_REFERENCE);
      for (Pattern p : patterns) {
        Matcher m = p.matcher(e.getValue());
        while (m.find()) {
          String doc = "docs/protocols/" + m.group(1);
          String text = readIfPresent(doc); // also when not tracked yet
          if (text == null) {
            broken.add(where(e.getKey(), e.getValue(), m.start()) + ": no file " + doc);
            continue;
          }
          Set<String> sections = sectionNumbers(text);
          Matcher n = SECTION_NUMBER.matcher(m.group(2));
          while (n.find()) {
            checked++;
            if (!sections.contains(n.group()))
              broken.add(
                  where(e.getKey(), e.getValue(), m.start())
                      + ": "
                      + doc
                      + " has no section "
                      + n.group());
          }
        }
      }
    }
    assertThat(broken).as("protocol references to missing sections").isEmpty();
    assertThat(checked).as("protocol references found").isGreaterThan(40);
  }

  /**
   * A bare section sign (§5.8) says nothing once the document it meant is gone: outside
   * docs/protocols (whose pages refer to their own sections) every § belongs to a protocol
   * reference or follows an RFC number.
   */
  @Test
  void everySectionSignNamesItsDocument() {
    Pattern rfc = Pattern.compile("RFC\\s*\\d+\\s*$");
    List<String> bare = new ArrayList<>();
    for (var e : files.entrySet()) {
      String name = e.getKey();
      if (name.startsWith("docs/protocols/") || name.endsWith("/SelfContainedDocsTest.java"))
        continue;
      String text = e.getValue();
      boolean[] covered = new boolean[text.length()];
      Matcher m = PROTOCOL_REFERENCE.matcher(text);
      while (m.find()) for (int i = m.start(2); i < m.end(2); i++) covered[i] = true;
      for (int i = text.indexOf('§'); i >= 0; i = text.indexOf('§', i + 1)) {
        if (covered[i] || rfc.matcher(text.substring(Math.max(0, i - 16), i)).find()) continue;
        bare.add(where(name, text, i));
      }
    }
    assertThat(bare)
        .as("section signs naming no document (write docs/protocols/<page>.md §N, or RFC N §M)")
        .isEmpty();
  }

  @Test
  void markdownLinksLeadToFilesAndHeadingsOfTheRepository() {
    List<String> broken = new ArrayList<>();
    for (var e : files.entrySet()) {
      if (!e.getKey().endsWith(".md")) continue;
      String text = FENCED.matcher(e.getValue()).replaceAll("");
      Matcher m = MARKDOWN_LINK.matcher(text);
      while (m.find()) {
        String target = m.group(1);
        if (target.matches("[a-z]+:.*")) continue; // http:, https:, mailto:
        int hash = target.indexOf('#');
        String path = hash < 0 ? target : target.substring(0, hash);
        Path resolved =
            path.isEmpty()
                ? root.resolve(e.getKey())
                : root.resolve(e.getKey()).getParent().resolve(path).normalize();
        if (!resolved.startsWith(root) || !Files.exists(resolved)) {
          broken.add(e.getKey() + ": " + target + " (no such file in the repository)");
          continue;
        }
        if (hash < 0 || !resolved.toString().endsWith(".md")) continue;
        String anchor = target.substring(hash + 1);
        String linked = readIfPresent(root.relativize(resolved).toString());
        if (linked != null && !anchors(linked).contains(anchor))
          broken.add(e.getKey() + ": " + target + " (no such heading)");
      }
    }
    assertThat(broken).as("Markdown links that lead nowhere").isEmpty();
  }

  /** "1", "1.2", ... of the numbered headings ("## 1. The packet", "### 1.2 Header layout"). */
  static Set<String> sectionNumbers(String markdown) {
    Set<String> out = new HashSet<>();
    Matcher m = HEADING.matcher(FENCED.matcher(markdown).replaceAll(""));
    while (m.find()) {
      Matcher n = Pattern.compile("^(\\d+(?:\\.\\d+)?)\\.?\\s").matcher(m.group(1));
      if (n.find()) out.add(n.group(1));
    }
    return out;
  }

  /** The anchors GitHub gives a page's headings. */
  static Set<String> anchors(String markdown) {
    Set<String> out = new HashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    Matcher m = HEADING.matcher(FENCED.matcher(markdown).replaceAll(""));
    while (m.find()) {
      String h = m.group(1).replace("`", "").replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1");
      String slug =
          Pattern.compile("[^\\w\\- ]", Pattern.UNICODE_CHARACTER_CLASS)
              .matcher(h.strip().toLowerCase(java.util.Locale.ROOT))
              .replaceAll("")
              .replace(' ', '-');
      int n = seen.merge(slug, 1, Integer::sum) - 1;
      out.add(n == 0 ? slug : slug + "-" + n);
    }
    return out;
  }

  private static String readIfPresent(String name) {
    String text = files.get(name);
    if (text != null) return text;
    try {
      Path p = root.resolve(name);
      return Files.isRegularFile(p) ? Files.readString(p) : null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String where(String name, String text, int offset) {
    int line = 1;
    for (int i = 0; i < offset; i++) if (text.charAt(i) == '\n') line++;
    return name + ":" + line;
  }

  private static boolean isText(String name, Path p) throws IOException {
    for (String ending : TEXT_ENDINGS) if (name.endsWith(ending)) return true;
    if (Path.of(name).getFileName().toString().contains(".")) return false;
    byte[] head = new byte[2];
    try (var in = Files.newInputStream(p)) {
      return in.read(head) == 2 && head[0] == '#' && head[1] == '!';
    }
  }

  /** The files git tracks; without git, every file outside build output and hidden directories. */
  private static List<String> trackedFiles() throws IOException {
    if (Files.isDirectory(root.resolve(".git")) || Files.isRegularFile(root.resolve(".git"))) {
      try {
        Process git = new ProcessBuilder("git", "ls-files", "-z").directory(root.toFile()).start();
        byte[] out = git.getInputStream().readAllBytes();
        if (git.waitFor(30, TimeUnit.SECONDS) && git.exitValue() == 0) {
          List<String> names = new ArrayList<>();
          for (String s : new String(out, StandardCharsets.UTF_8).split("\0"))
            if (!s.isEmpty()) names.add(s);
          return names;
        }
      } catch (IOException e) {
        // no git on this machine: walk the tree instead
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile)
          .map(p -> root.relativize(p).toString())
          .filter(
              n ->
                  Stream.of(n.split("/"))
                      .noneMatch(
                          part ->
                              part.equals("target")
                                  || part.equals("node_modules")
                                  || (part.startsWith(".") && !part.equals(".gitignore"))))
          .toList();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}

package dev.carpoperator.agent;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.equivalentTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import org.junit.jupiter.api.Test;

/**
 * The agent's layers, as docs/architecture.md draws them, enforced on the compiled main classes.
 *
 * <p>Protocol cores (carp, pfsync, sync) are pure: they see only the JDK and the cores below them,
 * so they can be tested without a NIC, a kernel or a clock. Adapters (net, linux, metrics) wrap one
 * outside thing each and know nothing of the engine or the front ends. The engine wires cores and
 * adapters; the front ends (standalone YAML, Kubernetes, actions, notifications) sit on top.
 * Libraries stay behind the package made for them.
 */
class ArchitectureTest {
  private static final String ROOT = "dev.carpoperator.agent";
  private static final String CARP = "..agent.carp..";
  private static final String PFSYNC = "..agent.pfsync..";
  private static final String SYNC = "..agent.sync..";
  private static final String NET = "..agent.net..";
  private static final String LINUX = "..agent.linux..";
  private static final String METRICS = "..agent.metrics..";
  private static final String ENGINE = "..agent.engine..";
  private static final String[] FRONT_ENDS = {
    "..agent.config..", "..agent.kube..", "..agent.actions..", "..agent.notify.."
  };

  /**
   * Ranges and defaults, defined once for the CRDs and both front ends: plain constants and one
   * range check, so every layer may read them.
   */
  private static final DescribedPredicate<JavaClass> LIMITS = equivalentTo(AgentLimits.class);

  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages(ROOT);

  @Test
  void carpCoreSeesOnlyTheJdk() {
    classes()
        .that()
        .resideInAPackage(CARP)
        .should()
        .onlyDependOnClassesThat(resideInAnyPackage("java..", CARP).or(LIMITS))
        .check(MAIN);
  }

  @Test
  void pfsyncCodecSeesOnlyTheJdk() {
    classes()
        .that()
        .resideInAPackage(PFSYNC)
        .should()
        .onlyDependOnClassesThat(resideInAnyPackage("java..", PFSYNC).or(LIMITS))
        .check(MAIN);
  }

  @Test
  void syncCoreSeesOnlyTheJdkAndPfsync() {
    classes()
        .that()
        .resideInAPackage(SYNC)
        .should()
        .onlyDependOnClassesThat(
            resideInAnyPackage("java..", "javax.crypto..", SYNC, PFSYNC).or(LIMITS))
        .check(MAIN);
  }

  @Test
  void adaptersKnowNothingOfTheEngineOrTheFrontEnds() {
    noClasses()
        .that()
        .resideInAnyPackage(NET, LINUX, METRICS)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(concat(FRONT_ENDS, ENGINE))
        .orShould()
        .dependOnClassesThat()
        .resideInAPackage(ROOT)
        .check(MAIN);
  }

  @Test
  void theEngineKnowsNothingOfTheFrontEnds() {
    noClasses()
        .that()
        .resideInAPackage(ENGINE)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(FRONT_ENDS)
        // Fatal (ending the agent on an Error) is the one piece of the entry point the engine uses.
        .orShould()
        .dependOnClassesThat(resideInAPackage(ROOT).and(not(equivalentTo(Fatal.class))))
        .check(MAIN);
  }

  @Test
  void librariesStayBehindTheirAdapters() {
    noClasses()
        .that()
        .resideOutsideOfPackage(NET)
        .should()
        .dependOnClassesThat()
        .resideInAPackage("org.pcap4j..")
        .because("pcap4j is reached through the FrameIo port")
        .check(MAIN);
    noClasses()
        .that()
        .resideOutsideOfPackage(LINUX)
        .should()
        .dependOnClassesThat()
        .resideInAPackage("com.sun.jna..")
        .because("netlink through JNA is the linux adapter's business")
        .check(MAIN);
    noClasses()
        .that()
        .resideOutsideOfPackage("..agent.kube..")
        .and()
        .resideOutsideOfPackage(ROOT)
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.fabric8..")
        .because("only the Kubernetes front end talks to the API server")
        .check(MAIN);
    noClasses()
        .that()
        .resideOutsideOfPackages(FRONT_ENDS)
        .and()
        .resideOutsideOfPackage(ROOT)
        .should()
        .dependOnClassesThat(resideInAPackage("dev.carpoperator.api..").and(not(LIMITS)))
        .because("the front ends translate the CRD types into the engine's own model")
        .check(MAIN);
  }

  @Test
  void packagesFormNoCycles() {
    slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(MAIN);
  }

  private static String[] concat(String[] a, String b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + 1);
    all[a.length] = b;
    return all;
  }
}

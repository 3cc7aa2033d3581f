package dev.carpoperator.operator;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The operator's layers, as docs/architecture.md draws them: one package per reconciled resource
 * (address, cluster), both on a shared status toolkit (conditions, events, patches) that knows
 * neither; the entry point wires them.
 */
class ArchitectureTest {
  private static final String ROOT = "dev.carpoperator.operator";

  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages(ROOT);

  @Test
  void theStatusToolkitKnowsNoReconciler() {
    noClasses()
        .that()
        .resideInAPackage("..operator.status..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "..operator.address..", "..operator.cluster..", "..operator.service..", ROOT)
        .check(MAIN);
  }

  @Test
  void eachResourcesReconcilerStandsAlone() {
    noClasses()
        .that()
        .resideInAPackage("..operator.address..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("..operator.cluster..")
        .check(MAIN);
    noClasses()
        .that()
        .resideInAPackage("..operator.cluster..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("..operator.address..", "..operator.service..")
        .check(MAIN);
    noClasses()
        .that()
        .resideInAPackage("..operator.service..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("..operator.address..", "..operator.cluster..")
        .check(MAIN);
    noClasses()
        .that()
        .resideInAPackage("..operator.address..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("..operator.service..")
        .check(MAIN);
  }

  @Test
  void theOperatorNeverRunsAgentCode() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.carpoperator.agent..")
        .because("the operator only reads what agents report through the API")
        .check(MAIN);
  }

  @Test
  void packagesFormNoCycles() {
    slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(MAIN);
  }
}

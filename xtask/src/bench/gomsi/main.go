// Command gomsi-bench builds, with go.digitalxero.dev/go-msi, the MSI that `cargo xtask bench`
// describes in a JSON spec (the same package model msi-writer and wixl get), so the three MSI
// writers can be timed on identical input:
//
//	gomsi-bench SPEC.json OUT.msi
//
// The bench downloads the library through the Go module proxy and builds this program itself;
// nothing of the library is kept in the winrelease repository.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	msi "go.digitalxero.dev/go-msi"
)

type spec struct {
	Product struct {
		Name         string `json:"name"`
		Manufacturer string `json:"manufacturer"`
		Version      string `json:"version"`
		ProductCode  string `json:"product_code"`
		UpgradeCode  string `json:"upgrade_code"`
	} `json:"product"`
	// Roots are the top folders: a known folder (ProgramFiles64Folder, CommonAppDataFolder),
	// the folder names below it, and the directory key of the last one.
	Roots []struct {
		Known string   `json:"known"`
		Path  []string `json:"path"`
		ID    string   `json:"id"`
	} `json:"roots"`
	Files []struct {
		Key            string   `json:"key"`
		ComponentGUID  string   `json:"component_guid"`
		Name           string   `json:"name"`
		Root           string   `json:"root"`
		Sub            []string `json:"sub"`
		Source         string   `json:"source"`
		Version        string   `json:"version"`
		NeverOverwrite bool     `json:"never_overwrite"`
		Permanent      bool     `json:"permanent"`
	} `json:"files"`
	Service *struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Description string `json:"description"`
		Arguments   string `json:"arguments"`
		Exe         string `json:"exe"`
		Wait        bool   `json:"wait"`
	} `json:"service"`
	Properties []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"properties"`
}

// Component attribute bits (Windows Installer Component table).
const (
	attrPermanent      = 0x0010
	attr64Bit          = 0x0100
	attrNeverOverwrite = 0x4000
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gomsi-bench SPEC.json OUT.msi")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "gomsi-bench:", err)
		os.Exit(1)
	}
}

func run(specPath, outPath string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var s spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}

	b := msi.NewPackage().
		WithProductName(s.Product.Name).
		WithManufacturer(s.Product.Manufacturer).
		WithVersion(s.Product.Version).
		WithProductCode(s.Product.ProductCode).
		WithUpgradeCode(s.Product.UpgradeCode)
	b.MajorUpgrade().DowngradeErrorMessage("A newer version of [ProductName] is already installed.").Done()
	for _, p := range s.Properties {
		b.WithProperty(p.Name, p.Value)
	}
	b.Feature("Main").WithLevel(1)

	// Folder tree: TARGETDIR > known folder > path... (last one keyed by its id) > sub-folders.
	target := b.RootDirectory("TARGETDIR", "SourceDir")
	known := map[string]msi.DirectoryBuilder{}
	dirs := map[string]msi.DirectoryBuilder{}
	counter := 0
	for _, r := range s.Roots {
		k, ok := known[r.Known]
		if !ok {
			k = target.Subdirectory(r.Known, ".")
			known[r.Known] = k
		}
		d := k
		for i, name := range r.Path {
			id := r.ID
			if i+1 < len(r.Path) {
				counter++
				id = fmt.Sprintf("d%d", counter)
			}
			d = d.Subdirectory(id, name)
		}
		dirs[r.ID] = d
	}
	dirOf := func(root string, sub []string) (msi.DirectoryBuilder, error) {
		d, ok := dirs[root]
		if !ok {
			return nil, fmt.Errorf("unknown root directory %q", root)
		}
		path := root
		for _, name := range sub {
			path += "\\" + name
			child, ok := dirs[path]
			if !ok {
				counter++
				child = d.Subdirectory(fmt.Sprintf("d%d", counter), name)
				dirs[path] = child
			}
			d = child
		}
		return d, nil
	}

	for _, f := range s.Files {
		d, err := dirOf(f.Root, f.Sub)
		if err != nil {
			return err
		}
		attrs := int16(attr64Bit)
		if f.NeverOverwrite {
			attrs |= attrNeverOverwrite
		}
		if f.Permanent {
			attrs |= attrPermanent
		}
		c := d.Component("c_" + strings.ReplaceAll(f.Key, "-", "_")).
			WithGUID(f.ComponentGUID).
			WithAttributes(attrs).
			AssociateToFeature("Main")
		file := c.WithFilePath(f.Name, f.Source)
		if f.Version != "" {
			file.WithVersion(f.Version)
		}
		if svc := s.Service; svc != nil && svc.Exe == f.Key {
			c.ServiceInstall(svc.Name).
				WithDisplayName(svc.DisplayName).
				WithDescription(svc.Description).
				WithType(msi.ServiceTypeOwnProcess).
				WithStartType(msi.ServiceStartAuto).
				WithErrorControl(msi.ServiceErrorNormal).
				Vital(true).
				WithArguments(svc.Arguments)
			c.ServiceControl(svc.Name).
				OnInstall().Start().Stop().
				OnUninstall().Stop().Delete().
				Wait(svc.Wait)
		}
	}

	pkg, err := b.Build()
	if err != nil {
		return err
	}
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	if err := pkg.WriteMSI(w); err != nil {
		out.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

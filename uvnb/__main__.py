from uvnb.cli import main

raise SystemExit(main())

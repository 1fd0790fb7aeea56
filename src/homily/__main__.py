from homily.cli.main import main

raise SystemExit(main())
